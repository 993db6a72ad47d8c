import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type NexusError, nexusError } from '../core/errors.js'

/** The one wording of "over the rate limit", for HTTP replies and hub error frames alike. */
export function rateLimitError(max: number, windowSeconds: number, ttlMs: number): NexusError {
  const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000))
  return nexusError('rate_limit_exceeded', `Too many requests: at most ${max} per ${windowSeconds} s from one address. Retry in ${retryAfter} s.`, {
    retryAfter,
  })
}

/**
 * Spends one unit of a client address's rate-limit budget on something that did not come as
 * an HTTP request (a hub frame that writes); answers the error to give when none is left.
 */
export type AddressBudget = (request: FastifyRequest) => Promise<NexusError | undefined>

/**
 * The budget @fastify/rate-limit keeps for HTTP, spent from elsewhere: the plugin's own
 * limiter (`createRateLimit()` with no options takes the global settings), so the same store
 * (memory, or Redis shared by every instance), the same key (the client address fastify works
 * out, TRUST_PROXY honoured) and the same window. A store that fails is skipped, as for HTTP.
 */
export function addressBudget(app: FastifyInstance, windowSeconds: number): AddressBudget {
  const limit = app.createRateLimit()
  return async (request) => {
    const spent = await limit(request)
    if (spent.isAllowed || !spent.isExceeded) return undefined
    return rateLimitError(spent.max, windowSeconds, spent.ttl)
  }
}
