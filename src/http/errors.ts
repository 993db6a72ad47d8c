import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import secureJson from 'secure-json-parse'
import { type FieldProblem, isNexusError, NexusError, nexusError } from '../core/errors.js'
import { checkEnvelopeBounds } from '../core/json-bounds.js'
import { RouteMethods } from './methods.js'

/**
 * The one place where an error becomes an HTTP reply: `{error, message, details?}` with the
 * catalogue's status. Fastify's own errors are mapped into the catalogue; anything else is a
 * bug, logged with its stack and answered as `internal_error` without its insides.
 */
export function registerErrorHandling(app: FastifyInstance, routes: RouteMethods = new RouteMethods()): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = toCatalogueError(err)
    // An unreachable store is logged once by the store, not once per request it fails.
    if (known.status >= 500 && known.code !== 'store_unavailable') request.log.error({ err }, 'request failed')
    return sendError(reply, known)
  })

  // A path some route serves, asked with another method, is told which methods it takes.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!
    const allowed = routes.allowed(path)
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '))
      return sendError(reply, nexusError('method_not_allowed', `${path.slice(0, 200)} does not answer ${request.method}; it answers ${allowed.join(', ')}.`))
    }
    return sendError(reply, nexusError('not_found', `No route ${request.method} ${path}.`))
  })
}

export function sendError(reply: FastifyReply, err: NexusError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter))
  return reply
    .code(err.status)
    .type('application/json; charset=utf-8')
    .send({ error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) })
}

function toCatalogueError(err: FastifyError): NexusError {
  if (isNexusError(err)) return err
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = err.validationContext ?? 'request'
    const details: FieldProblem[] = (err.validation ?? []).map((issue) => ({
      path: [context, ...issue.instancePath.split('/').filter(Boolean)].join('.'),
      message: issue.message ?? 'is not valid',
    }))
    return nexusError('invalid_request', 'The request does not match the schema; see details.', { details })
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return nexusError('invalid_body')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return nexusError('payload_too_large')
  }
  if (err instanceof SyntaxError) return nexusError('invalid_body')
  if (err.statusCode === 413) return nexusError('payload_too_large')
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return nexusError('invalid_request', 'The request is not valid.')
  }
  return nexusError('internal_error')
}

/**
 * Bodies are JSON whatever their declared type, so `curl -d '{...}'` (which says
 * x-www-form-urlencoded) just works; an empty body is no body, so `{}` is never required.
 * `__proto__` and `constructor.prototype` keys are refused, as fastify's own parser does, and
 * so is JSON nested or populated past the message bounds (core/json-bounds.ts).
 */
export function registerJsonParsing(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers()
  const parseJson = (_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') return done(null, undefined)
    let value: unknown
    try {
      value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
    } catch {
      return done(nexusError('invalid_body'), undefined)
    }
    // Bounded here, before the route's zod schema (recursive for `json`) ever walks it.
    try {
      checkEnvelopeBounds(value, 'the body')
    } catch (err) {
      return done(err as Error, undefined)
    }
    done(null, value)
  }
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, parseJson)
}
