import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A client may name its request; anything else gets a fresh id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * A fresh UUID as one flat string. randomUUID() builds its text by concatenation, and V8 keeps
 * the result as a tree of some twenty pieces (about 480 bytes) for as long as the string lives:
 * for a long-poll, the whole wait. Reading a character flattens it in place to 56 bytes.
 */
function freshId(): string {
  const id = randomUUID()
  id.charCodeAt(0)
  return id
}

/** The id a request is known by in logs and in its reply's X-Request-Id. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : freshId()
}
