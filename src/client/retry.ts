import { type BackoffPolicy, backoffDelay } from './backoff.js'
import { NexusApiError, NexusTransportError } from './errors.js'

/** How long the client is willing to wait before an attempt. */
export interface RetryPolicy {
  backoff: BackoffPolicy
  /** The longest `Retry-After` honoured; a longer one is cut to this. */
  maxRetryAfterMs: number
}

/**
 * The retry rule of references/api.md ("Retrying"), the one both the request function (http.ts)
 * and the message iterator (messages.ts) follow: may a request that failed with `err` be sent
 * again? A GET may be whenever the failure can pass (no reply, 429, any 5xx); any other method
 * only when the server says it did nothing (429, `503 capacity_exceeded`, `503 shutting_down`),
 * since a dropped connection or a gateway error may hide a send that was stored.
 */
export function isRetryable(err: unknown, method: string): boolean {
  const idempotent = method === 'GET'
  if (err instanceof NexusTransportError) {
    // invalid_response: a 2xx that is not the protocol; waiting does not change what answers.
    return idempotent && err.code !== 'invalid_response'
  }
  if (!(err instanceof NexusApiError)) return false
  if (err.status === 429) return true
  if (err.status === 503 && (err.code === 'capacity_exceeded' || err.code === 'shutting_down')) return true
  return idempotent && err.status >= 500 && err.status <= 599
}

/**
 * The wait before attempt `attempt + 1` after `err`: the reply's `Retry-After` (capped at
 * `maxRetryAfterMs`) when it has one, else the capped exponential backoff.
 */
export function retryDelay(err: unknown, attempt: number, policy: RetryPolicy): number {
  if (err instanceof NexusApiError && err.retryAfter !== undefined) return Math.min(err.retryAfter * 1000, policy.maxRetryAfterMs)
  return backoffDelay(attempt, policy.backoff)
}
