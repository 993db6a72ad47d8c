import { type FieldProblem, isNexusError } from '../core/errors.js'

/**
 * The hub's own error codes, for what only the hub knows about: services and providers.
 * Everything else, the end of a channel (`channel_ended`) included, is answered with the
 * catalogue's code (core/errors.ts).
 */
export const hubErrors = {
  service_not_found: 'No provider has registered that service.',
  provider_offline: 'The provider of that service is not connected right now; try again later.',
} as const

export type HubErrorCode = keyof typeof hubErrors

export class HubError extends Error {
  override name = 'HubError'
  readonly code: HubErrorCode

  constructor(code: HubErrorCode, message?: string) {
    super(message ?? hubErrors[code])
    this.code = code
  }
}

/** What an `error` frame says about a failure: a code, a sentence, and field problems if any. */
export interface ErrorBody {
  error_code: string
  message: string
  details?: FieldProblem[]
  /** Seconds to wait before trying again (rate limit, capacity), as HTTP's Retry-After. */
  retry_after?: number
}

/** Catalogue and hub errors keep their code and message; anything else is a bug, and says nothing of its insides. */
export function errorBody(err: unknown): { body: ErrorBody; bug: boolean } {
  if (err instanceof HubError) return { body: { error_code: err.code, message: err.message }, bug: false }
  if (isNexusError(err)) {
    return {
      body: {
        error_code: err.code,
        message: err.message,
        ...(err.details ? { details: err.details } : {}),
        ...(err.retryAfter !== undefined ? { retry_after: err.retryAfter } : {}),
      },
      bug: false,
    }
  }
  return { body: { error_code: 'internal_error', message: 'Something went wrong on our side.' }, bug: true }
}
