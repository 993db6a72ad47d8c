import type { Database } from 'better-sqlite3'
import { sameKeyHash } from '../../core/ids.js'
import type {
  AppendOutcome,
  AttemptCount,
  ClaimOutcome,
  CreateCodeOutcome,
  CreateOutcome,
  EndOutcome,
  IdentityRecord,
  JoinOutcome,
  JsonValue,
  LeaveOutcome,
  MemberRecord,
  MessageDraft,
  NewMember,
  NewSession,
  PairingCodeRecord,
  ReadOutcome,
  ReadRequest,
  RegisterIdentityOutcome,
  RenewOutcome,
  SessionEvent,
  SessionRecord,
  SessionStore,
  SessionWatcher,
  StatusOutcome,
  StoredMessage,
  StoreLimits,
  StoreStats,
} from '../store.js'
import type {
  GetWebhookOutcome, LeaseWebhookOutcome, RemoveWebhookOutcome, SetWebhookOutcome, SettleWebhookOutcome, WebhookRef, WebhookSettlement,
} from '../store.js'
import { type OpenedFile, openStoreFile, type Synchronous } from './open.js'
import { isOutage, unavailable } from './outage.js'
import { SqliteWebhooks } from './webhooks.js'
import { type CodeRow, type IdentityRow, type MessageRow, prepareStatements, type SessionRow, type Statements } from './statements.js'

export interface SqliteStoreOptions extends StoreLimits {
  /** The directory holding nexus.db (DATA_DIR); created when missing. */
  dataDir: string
  /** SQLITE_SYNCHRONOUS; default normal. */
  synchronous?: Synchronous
  /** Disk trouble, once per episode (pino's signature fits). */
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
  /**
   * The most pages the file may grow to: past it a write fails as on a full disk. For tests of
   * the full-disk path; unset, the file grows as the disk allows.
   */
  maxPages?: number
}

/** When full (sessions, or the store's bytes), a create or append sweeps at most this often before answering capacity. */
const CAPACITY_SWEEP_INTERVAL_MS = 1000
/**
 * The sweep's budget per transaction: it commits and yields to the event loop once it has spent
 * this long or deleted this many rows, so 100,000 sessions expiring at once never stall requests.
 */
const SWEEP_SLICE_MS = 4
const SWEEP_SLICE_ROWS = 400
/** Sessions fetched per look at the expiry index. */
const SWEEP_FETCH = 50
/** Pages handed back to the disk per step after a sweep freed some: 512 took about 15 ms a step, 128 about 7. */
const VACUUM_STEP_PAGES = 128
/** The log's size, in pages, at which SQLite empties it into the file: its default, and while a sweep runs. */
const DEFAULT_CHECKPOINT_PAGES = 1000
const SWEEP_CHECKPOINT_PAGES = 100
/** Messages read per step of a page with a byte budget: a budget of a few never reads a thousand large ones. */
const PAGE_SLICE = 64
/** Idle hub identities forgotten per statement. */
const SWEEP_IDENTITY_BATCH = 500
/** How often pending lastSeenAt times are written to the file. */
const SEEN_WRITE_INTERVAL_MS = 1000
/** Disk trouble is logged again after this long, not once per failing request. */
const OUTAGE_LOG_INTERVAL_MS = 10_000

/**
 * The durable default store: everything in one SQLite file (DATA_DIR/nexus.db), owned by this
 * process alone. better-sqlite3 is synchronous and these methods never await inside a change, so
 * each method is one transaction run to its end before any other JavaScript runs: atomic by
 * construction, like the memory store, and committed to the write-ahead log before it returns.
 * Watchers live in this process (there is no other process to tell).
 */
export class SqliteStore implements SessionStore {
  readonly kind = 'sqlite'
  readonly path: string
  readonly #file: OpenedFile
  readonly #db: Database
  readonly #q: Statements
  readonly #webhooks: SqliteWebhooks
  readonly #limits: Required<StoreLimits>
  readonly #log: SqliteStoreOptions['log']
  readonly #watchers = new Map<string, Set<SessionWatcher>>()
  /** One transaction wrapper for every step, made once with the statements rather than on each call. */
  readonly #transaction: (step: () => unknown) => unknown
  /** Session rows in the file, expired-but-unswept ones too: capacity is counted on these, as in memory. */
  #sessionRows: number
  /** What the file says (see statements.totalMessages), counted here as sends commit. */
  #totalMessages: number
  #lastCapacitySweep = -Infinity
  /** The sum of every session row's bytes, for maxStoreBytes (counted as the rows change). */
  #storeBytes: number
  #lastBytesSweep = -Infinity
  #sweeping: Promise<number> = Promise.resolve(0)
  #closed = false
  /**
   * lastSeenAt of polls and sends, by member, not yet in the file. Writing it on every poll made
   * a tail poll a write transaction (SQLite 30-40 µs of CPU against 2-3 µs on memory, in-process);
   * here it is written in one transaction a second, and before anything that reads it from the
   * file (idle removal, the sweep, close). A crash loses at most that second of it: a member may
   * look idle up to a second sooner, nothing else.
   */
  readonly #seen = new Map<string, { seq: number; agentId: string; at: number }>()
  readonly #seenTimer: NodeJS.Timeout
  #outageLoggedAt = -Infinity

  constructor(options: SqliteStoreOptions) {
    this.#limits = {
      maxSessions: options.maxSessions,
      maxMessagesPerSession: options.maxMessagesPerSession,
      maxSessionBytes: options.maxSessionBytes ?? Number.POSITIVE_INFINITY,
      maxStoreBytes: options.maxStoreBytes ?? Number.POSITIVE_INFINITY,
    }
    this.#log = options.log
    this.#file = openStoreFile({ dataDir: options.dataDir, synchronous: options.synchronous ?? 'normal' })
    this.#db = this.#file.db
    this.path = this.#file.path
    if (options.maxPages !== undefined) this.#db.pragma(`max_page_count = ${options.maxPages}`)
    this.#q = prepareStatements(this.#db)
    this.#webhooks = new SqliteWebhooks(this.#db)
    this.#transaction = this.#db.transaction((step: () => unknown) => step())
    this.#sessionRows = this.#q.sessionCount.get()!.n
    this.#totalMessages = this.#q.totalMessages.get()!.n
    this.#storeBytes = this.#q.storeBytes.get()!.n
    this.#seenTimer = setInterval(() => {
      try {
        this.#guard(() => this.#writeSeen())
      } catch {
        // Disk trouble is logged by #guard; the times stay pending for the next attempt.
      }
    }, SEEN_WRITE_INTERVAL_MS)
    this.#seenTimer.unref()
    for (const migration of this.#file.migrated) {
      this.#log?.info({ version: migration.version, file: this.path }, `store migrated: ${migration.summary}`)
    }
  }

  async create(input: NewSession, now: number): Promise<CreateOutcome> {
    if (this.#sessionRows >= this.#limits.maxSessions && now - this.#lastCapacitySweep >= CAPACITY_SWEEP_INTERVAL_MS) {
      this.#lastCapacitySweep = now
      await this.sweep(now)
    }
    return this.#guard(() => {
      if (this.#sessionRows >= this.#limits.maxSessions) return { ok: false, reason: 'capacity' } as const
      const expiresAt = now + input.ttlSeconds * 1000
      this.#atomically(() => {
        const q = this.#q
        const inserted = q.insertSession.run(
          input.id,
          input.ttlSeconds,
          input.maxAgents,
          input.creatorAgentId,
          now,
          expiresAt,
          input.greeting ? 0 : 1,
          input.creator ? 1 : 0,
          input.greeting ? 1 : 0,
          input.greeting ? input.greeting.bytes : 0,
        )
        const seq = Number(inserted.lastInsertRowid)
        if (input.creator) q.insertMember.run(seq, input.creator.agentId, seq, input.creator.keyHash, now, now)
        if (input.greeting) insertMessage(q, seq, 0, input.greeting, input.greeting.agentId, now)
      })
      this.#sessionRows++
      if (input.greeting) {
        this.#totalMessages++
        this.#storeBytes += input.greeting.bytes
      }
      const session: SessionRecord = {
        id: input.id,
        ttlSeconds: input.ttlSeconds,
        maxAgents: input.maxAgents,
        creatorAgentId: input.creatorAgentId,
        createdAt: now,
        expiresAt,
        lastCursor: 0,
        ended: null,
      }
      return { ok: true, session }
    })
  }

  async status(sessionId: string, now: number): Promise<StatusOutcome> {
    return this.#guard(() => {
      const row = this.#q.liveSession.get(sessionId, now)
      if (!row) return null
      return { session: sessionRecord(row), members: this.#memberList(row.seq) }
    })
  }

  async join(sessionId: string, member: NewMember, now: number): Promise<JoinOutcome> {
    return this.#guard(() =>
      this.#atomically((): JoinOutcome => {
        const row = this.#q.liveSession.get(sessionId, now)
        if (!row) return { ok: false, reason: 'session_not_found' }
        const refused = this.#admit(row, member, now)
        if (refused) return { ok: false, reason: refused }
        return { ok: true, session: sessionRecord(row), agentCount: row.member_count }
      }),
    )
  }

  async append(sessionId: string, draft: MessageDraft, keyHash: string | undefined, now: number): Promise<AppendOutcome> {
    return this.#append(sessionId, draft.agentId, draft, keyHash, undefined, now)
  }

  async end(sessionId: string, agentId: string, keyHash: string | undefined, final: MessageDraft, reason: string, now: number): Promise<EndOutcome> {
    return this.#append(sessionId, agentId, final, keyHash, reason, now)
  }

  /** An append by member `agentId`; with `endReason`, the final one, which ends the session in the same transaction. */
  async #append(sessionId: string, agentId: string, draft: MessageDraft, keyHash: string | undefined, endReason: string | undefined, now: number): Promise<AppendOutcome> {
    const attempt = () => this.#guard(() => this.#atomically(() => this.#appendNow(sessionId, agentId, draft, keyHash, endReason, now)))
    let [outcome, growth] = attempt()
    // At the store's byte cap, expired sessions may still hold bytes: forget them (at most once a
    // second, as create does) and try once more.
    if (!outcome.ok && outcome.reason === 'capacity' && now - this.#lastBytesSweep >= CAPACITY_SWEEP_INTERVAL_MS) {
      this.#lastBytesSweep = now
      await this.sweep(now)
      ;[outcome, growth] = attempt()
    }
    // Counted and told only once the transaction has committed: a watcher reading now finds the message.
    if (outcome.ok) {
      this.#storeBytes += growth
      this.#totalMessages++
      const watchers = this.#watchers.get(sessionId)
      if (watchers) notify(watchers, { type: 'message', sessionId, cursor: outcome.message.cursor, agentId: outcome.message.agentId })
    }
    return outcome
  }

  /** The append as one transaction's body: its outcome, and by how many bytes the store grew. */
  #appendNow(sessionId: string, agentId: string, draft: MessageDraft, keyHash: string | undefined, endReason: string | undefined, now: number): [AppendOutcome, number] {
    const q = this.#q
    const row = q.liveSession.get(sessionId, now)
    if (!row) return [{ ok: false, reason: 'session_not_found' }, 0]
    const sender = q.member.get(row.seq, agentId)
    if (!sender) return [{ ok: false, reason: 'not_member' }, 0]
    if (keyHash !== undefined && !sameKeyHash(keyHash, sender.key_hash)) return [{ ok: false, reason: 'bad_key' }, 0]
    if (row.ended_cursor !== null) return [{ ok: false, reason: 'ended' }, 0]
    // The final message is the system's; any other is its member's (the member's copy of the id).
    const author = endReason === undefined ? sender.agent_id : draft.agentId
    const cursor = row.last_cursor + 1
    const drop = this.#toDrop(row, cursor, draft.bytes)
    if (this.#storeBytes + draft.bytes - drop.bytes > this.#limits.maxStoreBytes) return [{ ok: false, reason: 'capacity' }, 0]
    insertMessage(q, row.seq, cursor, draft, author, now)
    this.#seeNow(row.seq, sender.agent_id, now)
    if (drop.keepFrom > row.first_cursor) {
      q.dropMessagesBefore.run(row.seq, drop.keepFrom)
      row.first_cursor = drop.keepFrom
      row.dropped_through = drop.keepFrom - 1
    }
    row.bytes += draft.bytes - drop.bytes
    row.last_cursor = cursor
    row.expires_at = now + row.ttl_seconds * 1000
    q.afterAppend.run(cursor, row.expires_at, row.first_cursor, row.dropped_through, row.bytes, row.seq)
    if (endReason !== undefined) {
      q.setEnded.run(sender.agent_id, endReason, cursor, now, row.seq)
      row.ended_by = sender.agent_id
      row.ended_reason = endReason
      row.ended_cursor = cursor
      row.ended_at = now
    }
    return [{ ok: true, message: storedMessage(draft, author, cursor, now), session: sessionRecord(row) }, draft.bytes - drop.bytes]
  }

  /**
   * Where the held messages must start for one more of `incoming` bytes at `cursor` (by count,
   * then by bytes; never the new one itself), and the bytes of those pushed out.
   */
  #toDrop(row: SessionRow, cursor: number, incoming: number): { keepFrom: number; bytes: number } {
    const q = this.#q
    // Cursors held are consecutive, so the oldest to keep by count follows from the newest.
    let keepFrom = Math.max(row.first_cursor, cursor - this.#limits.maxMessagesPerSession + 1)
    let bytes = keepFrom > row.first_cursor ? q.bytesBefore.get(row.seq, keepFrom)!.n : 0
    while (keepFrom < cursor && row.bytes - bytes + incoming > this.#limits.maxSessionBytes) {
      for (const held of q.sizesFrom.all(row.seq, keepFrom, PAGE_SLICE)) {
        if (row.bytes - bytes + incoming <= this.#limits.maxSessionBytes) break
        bytes += held.bytes
        keepFrom = held.cursor + 1
      }
    }
    return { keepFrom, bytes }
  }

  /** A read writes nothing to the file (its lastSeenAt waits in #seen), so it needs no transaction. */
  async read(sessionId: string, request: ReadRequest, now: number): Promise<ReadOutcome> {
    return this.#guard(
      (): ReadOutcome => {
        const q = this.#q
        const row = q.liveSession.get(sessionId, now)
        if (!row) return { ok: false, reason: 'session_not_found' }
        const reader = q.member.get(row.seq, request.agentId)
        if (!reader) return { ok: false, reason: 'not_member' }
        if (request.keyHash !== undefined && !sameKeyHash(request.keyHash, reader.key_hash)) return { ok: false, reason: 'bad_key' }
        this.#seeNow(row.seq, reader.agent_id, now)
        const messages = this.#page(row.seq, request)
        // Cursors held run without a gap to last_cursor: more exist exactly when it is past the page's end.
        const end = messages.at(-1)?.cursor ?? Math.max(request.after, row.first_cursor - 1)
        const outcome: ReadOutcome = {
          ok: true,
          session: sessionRecord(row),
          messages,
          hasMore: row.last_cursor > end,
          oldestCursor: row.first_cursor,
          droppedThrough: row.dropped_through,
        }
        if (request.withMembers) outcome.members = this.#memberList(row.seq)
        return outcome
      },
    )
  }

  async renew(sessionId: string, agentId: string, ttlSeconds: number | undefined, now: number, keyHash?: string): Promise<RenewOutcome> {
    return this.#guard(() =>
      this.#atomically((): RenewOutcome => {
        const q = this.#q
        const row = q.liveSession.get(sessionId, now)
        if (!row) return { ok: false, reason: 'session_not_found' }
        const member = q.member.get(row.seq, agentId)
        if (!member) return { ok: false, reason: 'not_member' }
        if (keyHash !== undefined && !sameKeyHash(keyHash, member.key_hash)) return { ok: false, reason: 'bad_key' }
        if (ttlSeconds !== undefined) row.ttl_seconds = ttlSeconds
        row.expires_at = now + row.ttl_seconds * 1000
        q.setTtlAndExpiry.run(row.ttl_seconds, row.expires_at, row.seq)
        return { ok: true, session: sessionRecord(row), agents: q.members.all(row.seq).map((m) => m.agent_id) }
      }),
    )
  }

  async leave(sessionId: string, agentId: string, keyHash: string, now: number): Promise<LeaveOutcome> {
    const outcome = this.#guard(() =>
      this.#atomically((): LeaveOutcome => {
        const q = this.#q
        const row = q.liveSession.get(sessionId, now)
        if (!row) return { ok: false, reason: 'session_not_found' }
        if (row.creator_agent_id === agentId) return { ok: false, reason: 'creator' }
        const member = q.member.get(row.seq, agentId)
        if (!member) return { ok: false, reason: 'agent_not_found' }
        if (!sameKeyHash(keyHash, member.key_hash)) return { ok: false, reason: 'bad_key' }
        q.deleteMember.run(row.seq, agentId)
        this.#seen.delete(seenKey(row.seq, agentId))
        q.dropMemberCount.run(1, row.seq)
        return { ok: true, session: sessionRecord(row) }
      }),
    )
    if (outcome.ok) this.#emit({ type: 'member_removed', sessionId, agentId })
    return outcome
  }

  async removeIdleMembers(sessionId: string, idleBefore: number, now: number): Promise<string[]> {
    const removed = this.#guard(() =>
      this.#atomically((): string[] => {
        const q = this.#q
        const row = q.liveSession.get(sessionId, now)
        if (!row) return []
        this.#writeSeen()
        const idle = q.idleMembers.all(row.seq, row.creator_agent_id ?? '', idleBefore).map((m) => m.agent_id)
        for (const agentId of idle) {
          q.deleteMember.run(row.seq, agentId)
          this.#seen.delete(seenKey(row.seq, agentId))
        }
        if (idle.length > 0) q.dropMemberCount.run(idle.length, row.seq)
        return idle
      }),
    )
    for (const agentId of removed) this.#emit({ type: 'member_removed', sessionId, agentId })
    return removed
  }

  async createCode(code: PairingCodeRecord, now: number, maxPending: number): Promise<CreateCodeOutcome> {
    return this.#guard(() =>
      this.#atomically((): CreateCodeOutcome => {
        const q = this.#q
        if (!q.liveSession.get(code.sessionId, now)) return { ok: false, reason: 'session_not_found' }
        if (q.pendingCodes.get(code.sessionId, now)!.n >= maxPending) return { ok: false, reason: 'too_many' }
        if (q.code.get(code.code)) return { ok: false, reason: 'exists' }
        q.insertCode.run(code.code, code.sessionId, code.expiresAt, code.claimedAt, code.forgetAt)
        return { ok: true }
      }),
    )
  }

  async getCode(code: string, now: number): Promise<PairingCodeRecord | null> {
    return this.#guard(() =>
      this.#atomically((): PairingCodeRecord | null => {
        const q = this.#q
        const row = q.code.get(code)
        if (!row || row.forget_at <= now) return null
        // A pending code dies with its session, as the sweep would mark it.
        if (row.claimed_at === null && row.expires_at > now && !q.liveSession.get(row.session_id, now)) {
          q.expireCode.run(now, code)
          row.expires_at = now
        }
        return codeRecord(row)
      }),
    )
  }

  async claim(code: string, member: NewMember, now: number): Promise<ClaimOutcome> {
    return this.#guard(() =>
      this.#atomically((): ClaimOutcome => {
        const q = this.#q
        const record = q.code.get(code)
        if (!record || record.forget_at <= now) return { ok: false, reason: 'code_not_found' }
        if (record.claimed_at !== null || record.expires_at <= now) return { ok: false, reason: 'code_expired_or_used' }
        const row = q.liveSession.get(record.session_id, now)
        if (!row) return { ok: false, reason: 'session_not_found' }
        const refused = this.#admit(row, member, now)
        if (refused) return { ok: false, reason: refused }
        q.claimCode.run(now, code)
        return { ok: true, session: sessionRecord(row), agentCount: row.member_count }
      }),
    )
  }

  async countAttempt(key: string, windowMs: number, now: number): Promise<AttemptCount> {
    return this.#guard(() =>
      this.#atomically((): AttemptCount => {
        const held = this.#q.attempt.get(key)
        const running = held !== undefined && held.resets_at > now
        const count = running ? held.count + 1 : 1
        const resetAt = running ? held.resets_at : now + windowMs
        this.#q.setAttempt.run(key, count, resetAt)
        return { count, resetAt }
      }),
    )
  }

  async uncountAttempt(key: string, now: number): Promise<void> {
    this.#guard(() =>
      this.#atomically(() => {
        const held = this.#q.attempt.get(key)
        if (held && held.resets_at > now && held.count > 0) this.#q.setAttempt.run(key, held.count - 1, held.resets_at)
      }),
    )
  }

  async registerIdentity(agentId: string, keyHash: string, now: number): Promise<RegisterIdentityOutcome> {
    return this.#guard(() =>
      this.#atomically((): RegisterIdentityOutcome => {
        if (this.#q.insertIdentity.run(agentId, keyHash, now, now).changes === 1) return { ok: true }
        return { ok: false, identity: identityRecord(this.#q.identity.get(agentId)!) }
      }),
    )
  }

  async getIdentity(agentId: string): Promise<IdentityRecord | null> {
    return this.#guard(() => {
      const row = this.#q.identity.get(agentId)
      return row ? identityRecord(row) : null
    })
  }

  async touchIdentities(agentIds: string[], now: number): Promise<void> {
    if (agentIds.length === 0) return
    this.#guard(() =>
      this.#atomically(() => {
        for (const agentId of agentIds) this.#q.touchIdentity.run(now, agentId, now)
      }),
    )
  }

  /** In batches, each its own transaction, so a long list never holds the file for long. */
  async forgetIdleIdentities(idleBefore: number): Promise<number> {
    let forgotten = 0
    for (;;) {
      const changes = this.#guard(() => this.#q.forgetIdentities.run(idleBefore, SWEEP_IDENTITY_BATCH).changes)
      forgotten += changes
      if (changes < SWEEP_IDENTITY_BATCH) return forgotten
      await yieldToRequests()
    }
  }

  /** Sweeps run one after another: a second asked for while one runs waits for it, then runs. */
  sweep(now: number): Promise<number> {
    const run = this.#sweeping.catch(() => 0).then(() => this.#sweepNow(now))
    this.#sweeping = run
    return run
  }

  async stats(now: number): Promise<StoreStats> {
    return this.#guard(() => {
      const live = this.#q.live.get(now)!
      return { activeSessions: live.sessions, totalAgents: live.agents, totalMessages: this.#totalMessages, bytesHeld: this.#storeBytes }
    })
  }

  watch(sessionId: string, watcher: SessionWatcher): void {
    let watchers = this.#watchers.get(sessionId)
    if (!watchers) {
      watchers = new Set()
      this.#watchers.set(sessionId, watchers)
    }
    watchers.add(watcher)
  }

  unwatch(sessionId: string, watcher: SessionWatcher): void {
    const watchers = this.#watchers.get(sessionId)
    if (!watchers) return
    watchers.delete(watcher)
    if (watchers.size === 0) this.#watchers.delete(sessionId)
  }

  /** The database's size in pages of 4 KiB, as it will stand once the log is emptied into the file. */
  pages(): number {
    return this.#guard(() => this.#db.pragma('page_count', { simple: true }) as number)
  }

  // Webhooks (./webhooks.ts), each one transaction.

  async setWebhook(sessionId: string, agentId: string, keyHash: string, hook: { url: string; secret: string }, maxPerSession: number, now: number): Promise<SetWebhookOutcome> {
    return this.#guard(() => this.#atomically(() => this.#webhooks.set(sessionId, agentId, keyHash, hook, maxPerSession, now)))
  }

  async getWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<GetWebhookOutcome> {
    return this.#guard(() => this.#webhooks.get(sessionId, agentId, keyHash, now))
  }

  async removeWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<RemoveWebhookOutcome> {
    return this.#guard(() => this.#atomically(() => this.#webhooks.remove(sessionId, agentId, keyHash, now)))
  }

  async leaseWebhook(sessionId: string, agentId: string, holder: string, until: number, now: number): Promise<LeaseWebhookOutcome> {
    return this.#guard(() => this.#atomically(() => this.#webhooks.lease(sessionId, agentId, holder, until, now)))
  }

  async settleWebhook(sessionId: string, agentId: string, holder: string, settlement: WebhookSettlement, now: number): Promise<SettleWebhookOutcome> {
    return this.#guard(() => this.#atomically(() => this.#webhooks.settle(sessionId, agentId, holder, settlement, now)))
  }

  async dueWebhooks(now: number, limit: number): Promise<WebhookRef[]> {
    return this.#guard(() => this.#webhooks.due(now, limit))
  }

  /** Waits for a sweep in progress to reach a commit, then closes the file (emptying its log into it). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#seenTimer)
    await this.#sweeping.catch(() => 0)
    try {
      this.#writeSeen()
    } finally {
      this.#file.release()
    }
  }

  /**
   * Expired sessions go in slices of a few milliseconds, each its own transaction, with the event
   * loop free between them. A big session may take several slices: its oldest messages go first
   * and its row last, so a session half-deleted is still an expired row, which no method sees.
   */
  async #sweepNow(now: number): Promise<number> {
    let removed = 0
    let freed = false
    this.#guard(() => this.#writeSeen())
    // A sweep writes in bursts, and SQLite empties the log into the file at the commit that takes
    // it past wal_autocheckpoint pages: at the default 1000 each emptying held the event loop about
    // 20 ms; at 100 while the sweep runs, under 8 ms. Sends keep the default: at 100 they lost a
    // fifth of their rate (references/scaling.md, the SQLite figures).
    this.#db.pragma(`wal_autocheckpoint = ${SWEEP_CHECKPOINT_PAGES}`)
    try {
      for (;;) {
        if (this.#closed) return removed
        const slice = this.#guard(() => this.#atomically(() => this.#sweepSlice(now)))
        removed += slice.ended.length
        freed ||= slice.rows > 0
        this.#sessionRows -= slice.ended.length
        for (const sessionId of slice.ended) this.#emit({ type: 'ended', sessionId })
        if (slice.done) break
        await yieldToRequests()
      }
      if (freed) await this.#giveBackPages()
    } finally {
      if (!this.#closed) this.#db.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`)
    }
    return removed
  }

  #sweepSlice(now: number): { ended: string[]; rows: number; done: boolean } {
    const q = this.#q
    const started = performance.now()
    const ended: string[] = []
    let rows = 0
    const spent = () => rows >= SWEEP_SLICE_ROWS || performance.now() - started >= SWEEP_SLICE_MS
    for (const row of q.expired.all(now, SWEEP_FETCH)) {
      // The session's messages, a bounded run of cursors at a time.
      let from = row.first_cursor
      while (from <= row.last_cursor) {
        const through = Math.min(row.last_cursor, from + SWEEP_SLICE_ROWS - 1)
        rows += q.dropMessagesThrough.run(row.seq, through).changes
        from = through + 1
        if (from <= row.last_cursor && spent()) {
          q.setFirstCursor.run(from, row.seq)
          return { ended, rows, done: false }
        }
      }
      q.countSwept.run(row.accepted)
      this.#storeBytes -= row.bytes
      rows += q.deleteMembers.run(row.seq).changes
      rows += q.expirePendingCodes.run(now, row.id, now).changes
      q.deleteSession.run(row.seq)
      rows++
      ended.push(row.id)
      if (spent()) return { ended, rows, done: false }
    }
    const forgotten = q.forgetCodes.run(now, SWEEP_SLICE_ROWS).changes
    const attempts = q.forgetAttempts.run(now, SWEEP_SLICE_ROWS).changes
    rows += forgotten + attempts
    const more = ended.length === SWEEP_FETCH || forgotten === SWEEP_SLICE_ROWS || attempts === SWEEP_SLICE_ROWS
    return { ended, rows, done: !more }
  }

  /** Hands the pages a sweep freed back to the disk, a few at a time, so the file shrinks under churn. */
  async #giveBackPages(): Promise<void> {
    for (;;) {
      if (this.#closed) return
      const free = this.#guard(() => this.#db.pragma('freelist_count', { simple: true }) as number)
      if (free === 0) return
      this.#guard(() => this.#db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`))
      if (free <= VACUUM_STEP_PAGES) return
      await yieldToRequests()
    }
  }

  /**
   * Up to `limit` messages after `after`, stopping before the one that would take their bytes past
   * `maxBytes` (the first comes whatever its size). Read a slice at a time under a budget, so a
   * page of a few large messages never reads a thousand.
   */
  #page(seq: number, request: ReadRequest): StoredMessage[] {
    const messages: StoredMessage[] = []
    if (request.maxBytes === undefined) {
      for (const row of this.#q.page.all(seq, request.after, request.limit)) messages.push(messageOf(row))
      return messages
    }
    let after = request.after
    let bytes = 0
    while (messages.length < request.limit) {
      const want = Math.min(PAGE_SLICE, request.limit - messages.length)
      const rows = this.#q.page.all(seq, after, want)
      for (const row of rows) {
        bytes += row.bytes
        if (bytes > request.maxBytes && messages.length > 0) return messages
        messages.push(messageOf(row))
        after = row.cursor
      }
      if (rows.length < want) break
    }
    return messages
  }

  /** The member's lastSeenAt is now: kept here until the next write of them all. */
  #seeNow(seq: number, agentId: string, now: number): void {
    const key = seenKey(seq, agentId)
    const pending = this.#seen.get(key)
    if (pending) pending.at = Math.max(pending.at, now)
    else this.#seen.set(key, { seq, agentId, at: now })
  }

  /** Writes every pending lastSeenAt into the file, in one transaction; they stay pending if it fails. */
  #writeSeen(): void {
    if (this.#seen.size === 0) return
    this.#atomically(() => {
      for (const { seq, agentId, at } of this.#seen.values()) this.#q.seen.run(at, seq, agentId)
    })
    this.#seen.clear()
  }

  /** The session's members in join order, each with its latest lastSeenAt (pending or written). */
  #memberList(seq: number): MemberRecord[] {
    return this.#q.members.all(seq).map((row) => {
      const pending = this.#seen.get(seenKey(seq, row.agent_id))
      return { agentId: row.agent_id, joinedAt: row.joined_at, lastSeenAt: pending ? Math.max(pending.at, row.last_seen_at) : row.last_seen_at }
    })
  }

  /** Joins a member to a live session row unless full or taken; slides the expiry (row updated in place). */
  #admit(row: SessionRow, member: NewMember, now: number): 'session_full' | 'agent_id_taken' | null {
    const q = this.#q
    if (q.member.get(row.seq, member.agentId)) return 'agent_id_taken'
    if (row.member_count >= row.max_agents) return 'session_full'
    q.insertMember.run(row.seq, member.agentId, row.seq, member.keyHash, now, now)
    row.member_count++
    row.expires_at = now + row.ttl_seconds * 1000
    q.setMemberCount.run(row.member_count, row.expires_at, row.seq)
    return null
  }

  /** Runs `step` as one transaction: all of it is committed, or (if it throws) none. */
  #atomically<T>(step: () => T): T {
    return this.#transaction(step) as T
  }

  /** Runs a step; disk trouble becomes store_unavailable (the step's transaction rolled back). */
  #guard<T>(step: () => T): T {
    if (this.#closed) throw unavailable()
    try {
      return step()
    } catch (err) {
      if (!isOutage(err)) throw err
      const at = Date.now()
      if (at - this.#outageLoggedAt >= OUTAGE_LOG_INTERVAL_MS) {
        this.#outageLoggedAt = at
        this.#log?.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'store cannot write; answering 503 store_unavailable')
      }
      throw unavailable()
    }
  }

  #emit(event: SessionEvent): void {
    const watchers = this.#watchers.get(event.sessionId)
    if (watchers) notify(watchers, event)
  }
}

function insertMessage(q: Statements, seq: number, cursor: number, draft: MessageDraft, agentId: string, now: number): void {
  q.insertMessage.run(
    seq,
    cursor,
    draft.id,
    agentId,
    draft.text ?? null,
    draft.json === undefined ? null : JSON.stringify(draft.json),
    draft.verified ? 1 : 0,
    draft.redactions.length > 0 ? JSON.stringify(draft.redactions) : null,
    draft.bytes,
    now,
  )
}

/** A message as the memory store keeps it: every field named, in one order (see memory.ts). */
function storedMessage(draft: MessageDraft, agentId: string, cursor: number, createdAt: number): StoredMessage {
  return {
    id: draft.id,
    agentId,
    text: draft.text,
    json: draft.json,
    verified: draft.verified,
    redactions: draft.redactions,
    bytes: draft.bytes,
    cursor,
    createdAt,
  }
}

function messageOf(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    agentId: row.agent_id,
    text: row.text ?? undefined,
    json: row.json === null ? undefined : (JSON.parse(row.json) as JsonValue),
    verified: row.verified === 1,
    redactions: row.redactions === null ? [] : (JSON.parse(row.redactions) as string[]),
    bytes: row.bytes,
    cursor: row.cursor,
    createdAt: row.created_at,
  }
}

function sessionRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    ttlSeconds: row.ttl_seconds,
    maxAgents: row.max_agents,
    creatorAgentId: row.creator_agent_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastCursor: row.last_cursor,
    ended: row.ended_cursor === null
      ? null
      : { by: row.ended_by!, reason: row.ended_reason!, cursor: row.ended_cursor, at: row.ended_at! },
  }
}

function identityRecord(row: IdentityRow): IdentityRecord {
  return { agentId: row.agent_id, keyHash: row.key_hash, createdAt: row.created_at, lastConnectedAt: row.last_connected_at }
}

function seenKey(seq: number, agentId: string): string {
  return `${seq} ${agentId}`
}

function codeRecord(row: CodeRow): PairingCodeRecord {
  return { code: row.code, sessionId: row.session_id, expiresAt: row.expires_at, claimedAt: row.claimed_at, forgetAt: row.forget_at }
}

/** Tells each watcher once, over a copy: a watcher may stop watching as it is told. */
function notify(watchers: Set<SessionWatcher>, event: SessionEvent): void {
  for (const watcher of [...watchers]) watcher.onSessionEvent(event)
}

function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
