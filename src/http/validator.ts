import type { FastifySchemaCompiler } from 'fastify'
import { validatorCompiler as zodValidatorCompiler } from 'fastify-type-provider-zod'
import { z } from 'zod'

/**
 * Requests are checked against their routes' zod schemas, as fastify-type-provider-zod does,
 * with one difference for headers: only the headers a schema names are parsed, and the request
 * keeps its own header object. Parsing the loose header schema copies every header the client
 * sent, and a validator that hands back a new object makes fastify merge two header objects on
 * every later read of `request.headers`; both showed on the hot path.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
  const full = zodValidatorCompiler(route)
  if (route.httpPart !== 'headers' || !(route.schema instanceof z.ZodObject)) return full
  const shape = route.schema.shape as z.ZodRawShape
  const named = z.object(shape)
  const keys = Object.keys(shape)
  return (headers: Record<string, unknown>) => {
    const picked: Record<string, unknown> = {}
    for (const key of keys) if (headers[key] !== undefined) picked[key] = headers[key]
    const result = named.safeParse(picked)
    // The full check only to word the error exactly as every other part's.
    if (!result.success) return full(headers)
    Object.assign(headers, result.data)
    return {}
  }
}
