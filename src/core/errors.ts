/**
 * The error catalogue: every error the service can answer with, its HTTP status and its
 * message. Code anywhere throws `nexusError(...)`; one handler per way in (HTTP, WebSocket)
 * turns it into a reply. `references/api.md` keeps a table equal to this one, and a test
 * holds them together.
 *
 * Entries are keyed by a name of their own because one wire code can mean two statuses:
 * a wrong session key is 403 on send (the message is refused) but 401 on leave (the caller
 * failed to authenticate).
 */
export const catalogue = {
  invalid_body: { status: 400, code: 'invalid_body', message: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, code: 'invalid_request', message: 'The request is not valid.' },
  missing_agent_id: { status: 400, code: 'missing_agent_id', message: 'The X-Agent-Id header is required.' },
  missing_session_key: { status: 401, code: 'missing_session_key', message: 'The X-Session-Key header is required to leave.' },
  invalid_api_key: { status: 401, code: 'invalid_api_key', message: 'This agent id needs its agent key, and the key shown is missing or wrong.' },
  invalid_session_key_on_leave: { status: 401, code: 'invalid_session_key', message: 'The session key does not match this agent.' },
  invalid_session_key: { status: 403, code: 'invalid_session_key', message: 'The session key does not match this agent.' },
  forbidden: { status: 403, code: 'forbidden', message: 'This agent may not do that in this session.' },
  agent_not_in_session: { status: 403, code: 'agent_not_in_session', message: 'This agent is not a member of the session; join it first.' },
  session_not_found: { status: 404, code: 'session_not_found', message: 'No such session: it never existed or it has expired.' },
  code_not_found: { status: 404, code: 'code_not_found', message: 'No such pairing code.' },
  code_expired_or_used: { status: 404, code: 'code_expired_or_used', message: 'This pairing code has expired or was already used; ask for a new link.' },
  agent_not_found: { status: 404, code: 'agent_not_found', message: 'That agent is not a member of the session.' },
  not_found: { status: 404, code: 'not_found', message: 'No such route.' },
  method_not_allowed: { status: 405, code: 'method_not_allowed', message: 'This route does not answer that method; the Allow header lists those it does.' },
  request_timeout: { status: 408, code: 'request_timeout', message: 'The request did not arrive in time.' },
  webhook_url_refused: { status: 400, code: 'webhook_url_refused', message: 'The webhook URL is refused: it must be an http(s) URL of a public address.' },
  too_many_webhooks: { status: 409, code: 'too_many_webhooks', message: 'The session holds its maximum of webhooks; remove one first.' },
  too_many_codes: { status: 409, code: 'too_many_codes', message: 'The session holds its maximum of pending pairing codes; use one, or wait until one is claimed or expires.' },
  session_full: { status: 409, code: 'session_full', message: 'The session has reached its maximum number of agents.' },
  agent_id_taken: { status: 409, code: 'agent_id_taken', message: 'An agent with this id is already a member of the session.' },
  channel_ended: { status: 409, code: 'channel_ended', message: 'The session was ended; nothing more can be sent to it, or end it again.' },
  payload_too_large: { status: 413, code: 'payload_too_large', message: 'The body or message is larger than this server accepts.' },
  expectation_failed: { status: 417, code: 'expectation_failed', message: 'The only expectation this server meets is "Expect: 100-continue".' },
  headers_too_large: { status: 431, code: 'headers_too_large', message: 'The request headers are larger than this server accepts.' },
  rate_limit_exceeded: { status: 429, code: 'rate_limit_exceeded', message: 'Too many requests from this address; retry later.' },
  capacity_exceeded: { status: 503, code: 'capacity_exceeded', message: 'The server is at capacity; retry later.' },
  shutting_down: { status: 503, code: 'shutting_down', message: 'The server is shutting down; retry shortly.' },
  store_unavailable: { status: 503, code: 'store_unavailable', message: 'The session store cannot be reached right now; retry shortly.' },
  internal_error: { status: 500, code: 'internal_error', message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; code: string; message: string }>

export type CatalogueKey = keyof typeof catalogue
export type ErrorCode = (typeof catalogue)[CatalogueKey]['code']

/** One field problem, as `details` carries it. */
export interface FieldProblem {
  path: string
  message: string
}

export class NexusError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: FieldProblem[] | undefined
  /** Seconds, for 429 and 503: when the caller may try again. */
  readonly retryAfter: number | undefined

  constructor(key: CatalogueKey, message?: string, extras: { details?: FieldProblem[]; retryAfter?: number } = {}) {
    const entry = catalogue[key]
    super(message ?? entry.message)
    this.name = 'NexusError'
    this.code = entry.code
    this.status = entry.status
    this.details = extras.details
    this.retryAfter = extras.retryAfter
  }
}

export function nexusError(
  key: CatalogueKey,
  message?: string,
  extras?: { details?: FieldProblem[]; retryAfter?: number },
): NexusError {
  return new NexusError(key, message, extras)
}

export function isNexusError(err: unknown): err is NexusError {
  return err instanceof NexusError
}
