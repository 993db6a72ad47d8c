import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { nexusError } from '../core/errors.js'
import type { Metrics } from './metrics.js'

/**
 * `GET /metrics`: the Prometheus exposition. Off the rate limit (a scraper must never be refused
 * for scraping) and out of the OpenAPI document (it is for operators, not agents). With a token,
 * only `Authorization: Bearer <token>` is answered; anything else is 403 `forbidden`.
 */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  const expected = token !== undefined ? digest(token) : undefined
  app.get('/metrics', { config: { rateLimit: false }, schema: { hide: true } }, async (request, reply) => {
    if (expected !== undefined && !bearerMatches(request.headers.authorization, expected)) {
      throw nexusError('forbidden', 'The metrics need the operator\'s token: Authorization: Bearer <METRICS_TOKEN>.')
    }
    const text = await metrics.render()
    return reply.type(metrics.contentType).send(text)
  })
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Compared as digests, in constant time, so a wrong token learns nothing of the right one. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match !== null && timingSafeEqual(digest(match[1]!), expected)
}
