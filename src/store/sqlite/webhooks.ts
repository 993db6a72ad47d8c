import type { Database } from 'better-sqlite3'
import { sameKeyHash } from '../../core/ids.js'
import type {
  GetWebhookOutcome, LeaseWebhookOutcome, RemoveWebhookOutcome, SetWebhookOutcome, SettleWebhookOutcome, WebhookRef, WebhookSettlement,
} from '../store.js'
import { type HeldWebhook, holds, lease, mayLease, newWebhook, replaceWebhook, settle, stillOwned, webhookRecord } from '../webhook-state.js'
import type { Prepared } from './statements.js'

interface WebhookRow {
  url: string
  secret: string
  created_at: number
  cursor: number
  last_success_at: number | null
  last_error: string | null
  attempts: number
  next_attempt_at: number
  member_key_hash: string
  lease_holder: string | null
  lease_until: number
}

interface LiveRow {
  seq: number
  last_cursor: number
}

type Refusal = 'session_not_found' | 'not_member' | 'bad_key'

/**
 * The webhook half of the SQLite store (table `webhooks`, migration 2). Each method is one
 * transaction body: the SqliteStore runs it inside its transaction wrapper and outage guard.
 * A session's webhooks leave with its row (a trigger), so the sweep needs no step of its own;
 * a member who left is noticed at the next lease.
 */
export class SqliteWebhooks {
  readonly #q: ReturnType<typeof prepare>

  constructor(db: Database) {
    this.#q = prepare(db)
  }

  set(sessionId: string, agentId: string, keyHash: string, hook: { url: string; secret: string }, maxPerSession: number, now: number): SetWebhookOutcome {
    const session = this.#member(sessionId, agentId, keyHash, now)
    if (typeof session === 'string') return { ok: false, reason: session }
    const row = this.#q.get.get(session.seq, agentId)
    if (row) {
      const held = heldOf(row)
      replaceWebhook(held, hook, keyHash, now)
      this.#write(session.seq, agentId, sessionId, held)
      return { ok: true, webhook: webhookRecord(held), replaced: true }
    }
    if (this.#q.count.get(session.seq)!.n >= maxPerSession) return { ok: false, reason: 'too_many' }
    const held = newWebhook(hook, keyHash, session.last_cursor, now)
    this.#write(session.seq, agentId, sessionId, held)
    return { ok: true, webhook: webhookRecord(held), replaced: false }
  }

  get(sessionId: string, agentId: string, keyHash: string, now: number): GetWebhookOutcome {
    const session = this.#member(sessionId, agentId, keyHash, now)
    if (typeof session === 'string') return { ok: false, reason: session }
    const row = this.#q.get.get(session.seq, agentId)
    // One left behind by an earlier member of the same id is not this one's.
    const held = row ? heldOf(row) : null
    return { ok: true, webhook: held && stillOwned(held, keyHash) ? webhookRecord(held) : null, lastCursor: session.last_cursor }
  }

  remove(sessionId: string, agentId: string, keyHash: string, now: number): RemoveWebhookOutcome {
    const session = this.#member(sessionId, agentId, keyHash, now)
    if (typeof session === 'string') return { ok: false, reason: session }
    return { ok: true, removed: this.#q.delete.run(session.seq, agentId).changes > 0 }
  }

  lease(sessionId: string, agentId: string, holder: string, until: number, now: number): LeaseWebhookOutcome {
    const q = this.#q
    const session = q.anySession.get(sessionId)
    const row = session ? q.get.get(session.seq, agentId) : undefined
    // No row without its session: the trigger took them together.
    if (!session || !row) return { ok: false, reason: 'gone' }
    if (session.expires_at <= now || !stillOwned(heldOf(row), q.member.get(session.seq, agentId)?.key_hash ?? null)) {
      q.delete.run(session.seq, agentId)
      return { ok: false, reason: 'gone' }
    }
    const held = heldOf(row)
    if (!mayLease(held, holder, now)) return { ok: false, reason: 'held' }
    lease(held, holder, until)
    q.lease.run(holder, until, until, session.seq, agentId)
    return { ok: true, webhook: webhookRecord(held), lastCursor: session.last_cursor }
  }

  settle(sessionId: string, agentId: string, holder: string, settlement: WebhookSettlement, now: number): SettleWebhookOutcome {
    const session = this.#q.liveSession.get(sessionId, now)
    const row = session ? this.#q.get.get(session.seq, agentId) : undefined
    if (!session || !row) return 'lost'
    const held = heldOf(row)
    if (!holds(held, holder)) return 'lost'
    const outcome = settle(held, settlement, session.last_cursor, now)
    this.#write(session.seq, agentId, sessionId, held)
    return outcome
  }

  due(now: number, limit: number): WebhookRef[] {
    return this.#q.due.all(now, limit).map((r) => ({ sessionId: r.session_id, agentId: r.agent_id }))
  }

  #member(sessionId: string, agentId: string, keyHash: string, now: number): LiveRow | Refusal {
    const session = this.#q.liveSession.get(sessionId, now)
    if (!session) return 'session_not_found'
    const member = this.#q.member.get(session.seq, agentId)
    if (!member) return 'not_member'
    if (!sameKeyHash(keyHash, member.key_hash)) return 'bad_key'
    return session
  }

  #write(seq: number, agentId: string, sessionId: string, h: HeldWebhook): void {
    this.#q.upsert.run(
      seq, agentId, sessionId, h.url, h.secret, h.createdAt, h.cursor, h.lastSuccessAt, h.lastError, h.attempts, h.nextAttemptAt, h.memberKeyHash, h.leaseHolder, h.leaseUntil,
    )
  }
}

function heldOf(row: WebhookRow): HeldWebhook {
  return {
    url: row.url, secret: row.secret, createdAt: row.created_at, cursor: row.cursor, lastSuccessAt: row.last_success_at, lastError: row.last_error,
    attempts: row.attempts, nextAttemptAt: row.next_attempt_at, memberKeyHash: row.member_key_hash, leaseHolder: row.lease_holder, leaseUntil: row.lease_until,
  }
}

function prepare(db: Database) {
  const s = <P extends unknown[], R = unknown>(sql: string): Prepared<P, R> => db.prepare(sql) as unknown as Prepared<P, R>
  return {
    liveSession: s<[string, number], LiveRow>('SELECT seq, last_cursor FROM sessions WHERE id = ? AND expires_at > ?'),
    anySession: s<[string], LiveRow & { expires_at: number }>('SELECT seq, last_cursor, expires_at FROM sessions WHERE id = ?'),
    member: s<[number, string], { key_hash: string }>('SELECT key_hash FROM members WHERE session = ? AND agent_id = ?'),
    get: s<[number, string], WebhookRow>('SELECT * FROM webhooks WHERE session = ? AND agent_id = ?'),
    count: s<[number], { n: number }>('SELECT count(*) AS n FROM webhooks WHERE session = ?'),
    upsert: s<[number, string, string, string, string, number, number, number | null, string | null, number, number, string, string | null, number]>(
      `INSERT OR REPLACE INTO webhooks (session, agent_id, session_id, url, secret, created_at, cursor, last_success_at, last_error, attempts,
        next_attempt_at, member_key_hash, lease_holder, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    lease: s<[string, number, number, number, string]>('UPDATE webhooks SET lease_holder = ?, lease_until = ?, next_attempt_at = ? WHERE session = ? AND agent_id = ?'),
    delete: s<[number, string]>('DELETE FROM webhooks WHERE session = ? AND agent_id = ?'),
    due: s<[number, number], { session_id: string; agent_id: string }>(
      'SELECT session_id, agent_id FROM webhooks WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?',
    ),
  }
}
