import type { Database, Statement } from 'better-sqlite3'

/** A prepared statement taking these parameters and reading rows of this shape: what the store uses of one. */
export interface Prepared<P extends unknown[], R = unknown> {
  run(...params: P): { changes: number; lastInsertRowid: number | bigint }
  get(...params: P): R | undefined
  all(...params: P): R[]
}

/** A session row as the statements read it. */
export interface SessionRow {
  seq: number
  id: string
  ttl_seconds: number
  max_agents: number
  creator_agent_id: string | null
  created_at: number
  expires_at: number
  last_cursor: number
  first_cursor: number
  dropped_through: number
  member_count: number
  accepted: number
  bytes: number
  /** The end (migration 2): all four NULL while the session is open. */
  ended_by: string | null
  ended_reason: string | null
  ended_cursor: number | null
  ended_at: number | null
}

export interface MemberRow {
  agent_id: string
  key_hash: string
  joined_at: number
  last_seen_at: number
}

export interface IdentityRow {
  agent_id: string
  key_hash: string
  created_at: number
  last_connected_at: number
}

export interface MessageRow {
  cursor: number
  id: string
  agent_id: string
  text: string | null
  json: string | null
  verified: number
  redactions: string | null
  bytes: number
  created_at: number
}

export interface CodeRow {
  code: string
  session_id: string
  expires_at: number
  claimed_at: number | null
  forget_at: number
}

/**
 * Every statement the store runs, prepared once when the file opens: a send or a poll then only
 * binds values and steps, and never parses SQL.
 */
export function prepareStatements(db: Database) {
  const s = <P extends unknown[], R = unknown>(sql: string): Prepared<P, R> => db.prepare<P, R>(sql) as Statement<P, R>
  return {
    sessionCount: s<[], { n: number }>('SELECT count(*) AS n FROM sessions'),
    liveSession: s<[string, number], SessionRow>('SELECT * FROM sessions WHERE id = ? AND expires_at > ?'),
    insertSession: s<[string, number, number, string | null, number, number, number, number, number, number]>(
      `INSERT INTO sessions (id, ttl_seconds, max_agents, creator_agent_id, created_at, expires_at, last_cursor, first_cursor, dropped_through, member_count, accepted, bytes)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?, -1, ?, ?, ?)`,
    ),
    /** Bytes held by every session row, expired-but-unswept ones too (as the memory store counts). */
    storeBytes: s<[], { n: number }>('SELECT coalesce(sum(bytes), 0) AS n FROM sessions'),
    setExpiry: s<[number, number]>('UPDATE sessions SET expires_at = ? WHERE seq = ?'),
    setTtlAndExpiry: s<[number, number, number]>('UPDATE sessions SET ttl_seconds = ?, expires_at = ? WHERE seq = ?'),
    setMemberCount: s<[number, number, number]>('UPDATE sessions SET member_count = ?, expires_at = ? WHERE seq = ?'),
    dropMemberCount: s<[number, number]>('UPDATE sessions SET member_count = member_count - ? WHERE seq = ?'),
    afterAppend: s<[number, number, number, number, number, number]>(
      'UPDATE sessions SET last_cursor = ?, expires_at = ?, first_cursor = ?, dropped_through = ?, bytes = ?, accepted = accepted + 1 WHERE seq = ?',
    ),

    setEnded: s<[string, string, number, number, number]>(
      'UPDATE sessions SET ended_by = ?, ended_reason = ?, ended_cursor = ?, ended_at = ? WHERE seq = ?',
    ),

    member: s<[number, string], MemberRow>('SELECT agent_id, key_hash, joined_at, last_seen_at FROM members WHERE session = ? AND agent_id = ?'),
    members: s<[number], MemberRow>('SELECT agent_id, key_hash, joined_at, last_seen_at FROM members WHERE session = ? ORDER BY ordinal'),
    /** Parameters: session, agent id, session again (for the next ordinal), key hash, now, now. */
    insertMember: s<[number, string, number, string, number, number]>(
      `INSERT INTO members (session, agent_id, ordinal, key_hash, joined_at, last_seen_at)
       VALUES (?, ?, (SELECT coalesce(max(ordinal), 0) + 1 FROM members WHERE session = ?), ?, ?, ?)`,
    ),
    seen: s<[number, number, string]>('UPDATE members SET last_seen_at = max(last_seen_at, ?) WHERE session = ? AND agent_id = ?'),
    deleteMember: s<[number, string]>('DELETE FROM members WHERE session = ? AND agent_id = ?'),
    idleMembers: s<[number, string, number], { agent_id: string }>(
      'SELECT agent_id FROM members WHERE session = ? AND agent_id IS NOT ? AND last_seen_at < ? ORDER BY ordinal',
    ),

    insertMessage: s<[number, number, string, string, string | null, string | null, number, string | null, number, number]>(
      `INSERT INTO messages (session, cursor, id, agent_id, text, json, verified, redactions, bytes, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    page: s<[number, number, number], MessageRow>(
      'SELECT cursor, id, agent_id, text, json, verified, redactions, bytes, created_at FROM messages WHERE session = ? AND cursor > ? ORDER BY cursor LIMIT ?',
    ),
    /** The oldest held messages' sizes from a cursor on: what a new message may push out. */
    sizesFrom: s<[number, number, number], { cursor: number; bytes: number }>(
      'SELECT cursor, bytes FROM messages WHERE session = ? AND cursor >= ? ORDER BY cursor LIMIT ?',
    ),
    bytesBefore: s<[number, number], { n: number }>('SELECT coalesce(sum(bytes), 0) AS n FROM messages WHERE session = ? AND cursor < ?'),
    dropMessagesBefore: s<[number, number]>('DELETE FROM messages WHERE session = ? AND cursor < ?'),
    /** Messages accepted by every session the file has held: those swept, plus those of the sessions it holds. */
    totalMessages: s<[], { n: number }>(
      "SELECT (SELECT value FROM counters WHERE name = 'swept_messages') + (SELECT coalesce(sum(accepted), 0) FROM sessions) AS n",
    ),
    countSwept: s<[number]>("UPDATE counters SET value = value + ? WHERE name = 'swept_messages'"),

    code: s<[string], CodeRow>('SELECT * FROM pairing_codes WHERE code = ?'),
    insertCode: s<[string, string, number, number | null, number]>(
      'INSERT INTO pairing_codes (code, session_id, expires_at, claimed_at, forget_at) VALUES (?, ?, ?, ?, ?)',
    ),
    /** Parameters: session id, now. */
    pendingCodes: s<[string, number], { n: number }>(
      'SELECT count(*) AS n FROM pairing_codes WHERE session_id = ? AND claimed_at IS NULL AND expires_at > ?',
    ),
    claimCode: s<[number, string]>('UPDATE pairing_codes SET claimed_at = ? WHERE code = ?'),
    expireCode: s<[number, string]>('UPDATE pairing_codes SET expires_at = ? WHERE code = ?'),
    /** Parameters: now, session id, now again. */
    expirePendingCodes: s<[number, string, number]>(
      'UPDATE pairing_codes SET expires_at = ? WHERE session_id = ? AND claimed_at IS NULL AND expires_at > ?',
    ),
    forgetCodes: s<[number, number]>(
      'DELETE FROM pairing_codes WHERE rowid IN (SELECT rowid FROM pairing_codes WHERE forget_at <= ? LIMIT ?)',
    ),

    attempt: s<[string], { count: number; resets_at: number }>('SELECT count, resets_at FROM attempts WHERE key = ?'),
    setAttempt: s<[string, number, number]>(
      'INSERT INTO attempts (key, count, resets_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET count = excluded.count, resets_at = excluded.resets_at',
    ),
    forgetAttempts: s<[number, number]>(
      'DELETE FROM attempts WHERE key IN (SELECT key FROM attempts WHERE resets_at <= ? LIMIT ?)',
    ),

    identity: s<[string], IdentityRow>('SELECT * FROM hub_identities WHERE agent_id = ?'),
    /** Parameters: agent id, key hash, now, now. Changes nothing when the id is held. */
    insertIdentity: s<[string, string, number, number]>(
      'INSERT INTO hub_identities (agent_id, key_hash, created_at, last_connected_at) VALUES (?, ?, ?, ?) ON CONFLICT (agent_id) DO NOTHING',
    ),
    /** Parameters: now, agent id, now again. */
    touchIdentity: s<[number, string, number]>('UPDATE hub_identities SET last_connected_at = ? WHERE agent_id = ? AND last_connected_at < ?'),
    /** Parameters: idle before, batch size. */
    forgetIdentities: s<[number, number]>(
      'DELETE FROM hub_identities WHERE agent_id IN (SELECT agent_id FROM hub_identities WHERE last_connected_at < ? LIMIT ?)',
    ),

    expired: s<[number, number], SessionRow>('SELECT * FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?'),
    dropMessagesThrough: s<[number, number]>('DELETE FROM messages WHERE session = ? AND cursor <= ?'),
    setFirstCursor: s<[number, number]>('UPDATE sessions SET first_cursor = ? WHERE seq = ?'),
    deleteMembers: s<[number]>('DELETE FROM members WHERE session = ?'),
    deleteSession: s<[number]>('DELETE FROM sessions WHERE seq = ?'),
    live: s<[number], { sessions: number; agents: number }>(
      'SELECT count(*) AS sessions, coalesce(sum(member_count), 0) AS agents FROM sessions WHERE expires_at > ?',
    ),
  }
}

export type Statements = ReturnType<typeof prepareStatements>
