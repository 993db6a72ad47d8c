import { nexusError } from '../../core/errors.js'

/** What a client is told to wait before retrying while the disk cannot take writes. */
export const UNAVAILABLE_RETRY_SECONDS = 5

/**
 * SQLite's answers that say the disk, not the request, is the trouble: full, failing, gone
 * read-only, or the file locked away. These are `store_unavailable` (503 with Retry-After): the
 * write did not happen, its transaction rolled back, and nothing committed before is touched.
 * Any other SQLite error is a bug and stays one.
 */
const OUTAGE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|PROTOCOL|NOMEM)(_|$)/

export function isOutage(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && OUTAGE.test(code)
}

export function unavailable(): Error {
  return nexusError('store_unavailable', 'The session store cannot write to its disk right now; retry shortly.', {
    retryAfter: UNAVAILABLE_RETRY_SECONDS,
  })
}
