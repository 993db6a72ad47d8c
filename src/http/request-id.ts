import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { flat } from '../core/ids.js'

/** A client may name its request; anything else gets a fresh id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The id a request is known by in logs and in its reply's X-Request-Id. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  // randomUUID() builds its text by concatenation: a tree of some twenty pieces (about 480
  // bytes) held for as long as the id lives, for a long-poll the whole wait. Flat, 56 bytes.
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : flat(randomUUID())
}
