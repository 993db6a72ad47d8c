import type { FieldProblem } from './types.js'

/** The server's error codes (references/api.md, "Errors"); a test keeps this list equal to the server's. */
export const API_ERROR_CODES = [
  'invalid_body',
  'invalid_request',
  'missing_agent_id',
  'missing_session_key',
  'invalid_session_key',
  'invalid_api_key',
  'forbidden',
  'agent_not_in_session',
  'session_not_found',
  'code_not_found',
  'code_expired_or_used',
  'agent_not_found',
  'not_found',
  'method_not_allowed',
  'request_timeout',
  'session_full',
  'agent_id_taken',
  'channel_ended',
  'too_many_codes',
  'webhook_url_refused',
  'too_many_webhooks',
  'payload_too_large',
  'expectation_failed',
  'headers_too_large',
  'rate_limit_exceeded',
  'capacity_exceeded',
  'shutting_down',
  'store_unavailable',
  'internal_error',
] as const

/** One of API_ERROR_CODES. Other strings may appear in `NexusApiError.code`: see there. */
export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

/**
 * Why a request got no reply from the server: `timeout` (no complete reply within the client's
 * `timeoutMs`), `network_error` (refused, reset, dropped), `invalid_response` (a 2xx whose body
 * is not the JSON the reference promises).
 */
export type TransportErrorCode = 'timeout' | 'network_error' | 'invalid_response'

/**
 * The server answered with an error. `code` is the catalogue's code (`session_not_found`, …);
 * a reply that is not in the catalogue's shape (a proxy's page, say) gets `http_<status>`.
 */
export class NexusApiError extends Error {
  override name = 'NexusApiError'
  readonly code: ApiErrorCode | (string & {})
  readonly status: number
  /** Validation problems, on `400 invalid_request`. */
  readonly details: FieldProblem[] | undefined
  /** Seconds, from `Retry-After` (429, 503). */
  readonly retryAfter: number | undefined
  /** The reply's `X-Request-Id`: quote it to find the request in the server's logs. */
  readonly requestId: string | undefined

  constructor(init: {
    code: string
    status: number
    message: string
    details?: FieldProblem[] | undefined
    retryAfter?: number | undefined
    requestId?: string | undefined
  }) {
    super(init.message)
    this.code = init.code
    this.status = init.status
    this.details = init.details
    this.retryAfter = init.retryAfter
    this.requestId = init.requestId
  }
}

/** No usable reply: the connection failed, dropped or timed out. The cause is in `cause`. */
export class NexusTransportError extends Error {
  override name = 'NexusTransportError'
  readonly code: TransportErrorCode

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

export type NexusError = NexusApiError | NexusTransportError

/**
 * True when `err` is one of the client's errors and, if `code` is given, has that code:
 * `isNexusError(err, 'session_not_found')`, `isNexusError(err, 'timeout')`.
 */
export function isNexusError(err: unknown, code: TransportErrorCode): err is NexusTransportError
export function isNexusError(err: unknown, code: ApiErrorCode | (string & {})): err is NexusApiError
export function isNexusError(err: unknown): err is NexusError
export function isNexusError(err: unknown, code?: string): boolean {
  if (!(err instanceof NexusApiError) && !(err instanceof NexusTransportError)) return false
  return code === undefined || err.code === code
}
