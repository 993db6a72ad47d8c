import { nexusError } from '../core/errors.js'
import type { Membership } from './backend.js'
import type { Held, SessionKeeper } from './keeper.js'

/** Marks a handle of this format, so a future one can be told apart. */
const PREFIX = 'nxh1.'
const AGENT_ID = /^[A-Za-z0-9_-]{1,128}$/
const SESSION_ID = /^[0-9a-f]{48}$/
const SESSION_KEY = /^[0-9a-f]{64}$/

/**
 * The remote keeper: nothing is kept on the server; the handle carries the session id, the agent
 * id, the session key and the cursor, base64url-encoded JSON. It is not sealed: the session key
 * inside is already the secret that proves the agent (it is handed to the agent the same way over
 * HTTP), so whoever holds the handle holds exactly what a nexus.sh user holds on disk. No server
 * secret is needed, so a handle works on every instance and after a restart. It lives as long as
 * the membership: until the agent leaves or the session expires.
 */
export class HandleKeeper implements SessionKeeper {
  readonly kind = 'handle' as const

  async enter(member: Membership, _server: string | undefined, cursor?: number): Promise<string> {
    return encodeHandle({ ...member, cursor, server: undefined })
  }

  async open(handle: string): Promise<Held> {
    return decodeHandle(handle)
  }

  async advance(_handle: string, held: Held, cursor: number): Promise<string> {
    // Never back: an older cursor would only repeat messages, but a newer one must not be lost.
    const next = held.cursor === undefined || cursor > held.cursor ? cursor : held.cursor
    return encodeHandle({ ...held, cursor: next })
  }

  async forget(): Promise<void> {
    // The handle dies with the membership; there is nothing on this side to remove.
  }

  async list(): Promise<undefined> {
    return undefined
  }
}

export function encodeHandle(held: Held): string {
  const fields = [held.sessionId, held.agentId, held.sessionKey, held.cursor ?? null]
  return PREFIX + Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url')
}

export function decodeHandle(handle: string): Held {
  const bad = () =>
    nexusError('invalid_request', 'That is not a session handle of this server. Pass the `session` handle exactly as nexus_create_session, nexus_claim, nexus_join or your last nexus_read / nexus_wait returned it.')
  const text = handle.trim()
  if (!text.startsWith(PREFIX) || text.length > 1024) throw bad()
  let fields: unknown
  try {
    fields = JSON.parse(Buffer.from(text.slice(PREFIX.length), 'base64url').toString('utf8'))
  } catch {
    throw bad()
  }
  if (!Array.isArray(fields) || fields.length !== 4) throw bad()
  const [sessionId, agentId, sessionKey, cursor] = fields as unknown[]
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) throw bad()
  if (typeof agentId !== 'string' || !AGENT_ID.test(agentId)) throw bad()
  if (typeof sessionKey !== 'string' || !SESSION_KEY.test(sessionKey)) throw bad()
  if (cursor !== null && !(Number.isSafeInteger(cursor) && (cursor as number) >= 0)) throw bad()
  return { sessionId, agentId, sessionKey, cursor: cursor === null ? undefined : (cursor as number), server: undefined }
}
