/**
 * The SessionStore: where sessions, members, messages and pairing codes live.
 *
 * The core decides what may happen; the store makes each step happen atomically. Every method
 * that changes more than one thing does it as one indivisible step (one critical section in
 * memory, one Lua script in Redis), so two callers racing, even on two instances, can never
 * break an invariant. These comments are the specification: a new store is done when it passes
 * `test/store/conformance.ts` unchanged.
 *
 * Time is always passed in (`now`, epoch milliseconds) and never read from a clock here, so a
 * test can drive expiry with a fake clock. A session whose `expiresAt <= now` does not exist for
 * any method, whether or not it has been swept yet.
 *
 * Keys: the store never sees a session key, only its SHA-256 digest (`keyHash`).
 */

/** Any JSON value: what a message's `json` payload may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface SessionRecord {
  id: string
  ttlSeconds: number
  maxAgents: number
  creatorAgentId: string | null
  createdAt: number
  expiresAt: number
  /** The newest cursor in the session: 0 before any message (the greeting, if any, is 0). */
  lastCursor: number
  /** How the session was ended (`end`), or null while it is open. Reads go on until it expires. */
  ended: SessionEnd | null
}

/**
 * The end of a session: which member ended it, why, when, and the cursor of its final message
 * (the system message `end` appended), which is the session's last cursor for good.
 */
export interface SessionEnd {
  by: string
  reason: string
  cursor: number
  at: number
}

export interface MemberRecord {
  agentId: string
  joinedAt: number
  lastSeenAt: number
}

export interface NewMember {
  agentId: string
  keyHash: string
}

/** What the core hands the store to append: everything but the cursor, which the store assigns. */
export interface MessageDraft {
  id: string
  agentId: string
  text?: string
  json?: JsonValue
  verified: boolean
  redactions: string[]
  /**
   * The size the message is charged against the page, session and store budgets, computed by
   * the core: its text and json as JSON writes them, plus a little per JSON value. Stores keep it
   * with the message and never compute it themselves.
   */
  bytes: number
}

export interface StoredMessage extends MessageDraft {
  cursor: number
  createdAt: number
}

export interface NewSession {
  id: string
  ttlSeconds: number
  maxAgents: number
  creatorAgentId: string | null
  /** Stored at cursor 0 when given. */
  greeting?: MessageDraft
  /** Joined at creation when given (its agentId equals creatorAgentId). */
  creator?: NewMember
}

export interface StoreLimits {
  /** Sessions held at once; create refuses beyond it. */
  maxSessions: number
  /** Messages kept per session; the oldest are dropped beyond it. */
  maxMessagesPerSession: number
  /**
   * Bytes (the sum of the messages' `bytes`) kept per session; the oldest are dropped beyond it,
   * as beyond maxMessagesPerSession, but the newest message is always kept. Absent: no cap.
   */
  maxSessionBytes?: number
  /**
   * Bytes held by all live sessions together; an append that would pass it is refused with
   * 'capacity' (after counting what its own session drops). Absent: no cap.
   */
  maxStoreBytes?: number
}

export type CreateOutcome = { ok: true; session: SessionRecord } | { ok: false; reason: 'capacity' }

export type JoinOutcome =
  | { ok: true; session: SessionRecord; agentCount: number }
  | { ok: false; reason: 'session_not_found' | 'session_full' | 'agent_id_taken' }

export type AppendOutcome =
  | { ok: true; message: StoredMessage; session: SessionRecord }
  | { ok: false; reason: 'session_not_found' | 'not_member' | 'bad_key' | 'ended' | 'capacity' }

/** `end` answers as append does: the final message and the session, its `ended` set. */
export type EndOutcome = AppendOutcome

export interface ReadRequest {
  agentId: string
  /** Exclusive; -1 reads from the very start (the greeting included). */
  after: number
  limit: number
  /**
   * The page stops before the message that would take the sum of `bytes` past this; the first
   * message is returned whatever its size, so a reader always progresses. Absent: no byte budget.
   */
  maxBytes?: number
  withMembers: boolean
  /** When given, it must equal the reader's key digest ('bad_key' otherwise), as for append. */
  keyHash?: string
}

export type ReadOutcome =
  | {
      ok: true
      session: SessionRecord
      messages: StoredMessage[]
      /** True when `limit` or `maxBytes` cut the page: there are messages after the last one returned. */
      hasMore: boolean
      /** The oldest cursor still held (lastCursor + 1 when none is held). */
      oldestCursor: number
      /** The highest cursor ever dropped to keep the session bounded, -1 when none was. */
      droppedThrough: number
      members?: MemberRecord[]
    }
  | { ok: false; reason: 'session_not_found' | 'not_member' | 'bad_key' }

export type RenewOutcome =
  | { ok: true; session: SessionRecord; agents: string[] }
  | { ok: false; reason: 'session_not_found' | 'not_member' | 'bad_key' }

export type LeaveOutcome =
  | { ok: true; session: SessionRecord }
  | { ok: false; reason: 'session_not_found' | 'creator' | 'agent_not_found' | 'bad_key' }

export type StatusOutcome = { session: SessionRecord; members: MemberRecord[] } | null

export interface PairingCodeRecord {
  code: string
  sessionId: string
  expiresAt: number
  claimedAt: number | null
  /** After this the code is forgotten entirely (code_not_found). */
  forgetAt: number
}

export type CreateCodeOutcome = { ok: true } | { ok: false; reason: 'exists' | 'session_not_found' | 'too_many' }

export interface AttemptCount {
  /** Attempts counted in the current window, the one just counted included. */
  count: number
  /** When the current window ends (epoch ms); the count starts again from 0 after it. */
  resetAt: number
}

export type ClaimOutcome =
  | { ok: true; session: SessionRecord; agentCount: number }
  | {
      ok: false
      reason: 'code_not_found' | 'code_expired_or_used' | 'session_not_found' | 'session_full' | 'agent_id_taken'
    }

/**
 * A hub agent's identity: who may wear an agent id on the hub. The store keeps only the digest
 * of the agent's key, as for session keys.
 */
export interface IdentityRecord {
  agentId: string
  keyHash: string
  createdAt: number
  /** When it last connected, or was last held live by a hub (touchIdentities). */
  lastConnectedAt: number
}

export type RegisterIdentityOutcome = { ok: true } | { ok: false; identity: IdentityRecord }

export type SessionEvent =
  /**
   * A message was appended; `cursor` is the session's new last cursor. `agentId`, its sender,
   * when the store knows the event is for that one message (a store may leave it out; a
   * watcher then reads to find out).
   */
  | { type: 'message'; sessionId: string; cursor: number; agentId?: string }
  /**
   * The session is gone (expired and swept, or deleted). Not its `end`: an ended session lives on
   * until it expires, and its end is told as the `message` event of its final message.
   */
  | { type: 'ended'; sessionId: string }
  /** A member left or was removed for inactivity. */
  | { type: 'member_removed'; sessionId: string; agentId: string }

/**
 * Who is told of a session's events. An object with a method rather than a function: a waiting
 * long-poll is already one object, and a listener function for it would be two more (the
 * function and its closure), on every one of thousands of idle waiters.
 */
export interface SessionWatcher {
  onSessionEvent(event: SessionEvent): void
}

export interface StoreStats {
  activeSessions: number
  totalAgents: number
  /** Messages accepted since the store was created (greetings included). */
  totalMessages: number
  /**
   * The `bytes` of every message held, what maxStoreBytes caps (sessions expired but not yet
   * swept included: their bytes come back at the sweep).
   */
  bytesHeld: number
}

export interface SessionStore extends WebhookStore {
  /** A label for /health ("memory", "redis"). */
  readonly kind: string

  /**
   * Creates the session with its creator (joined, joinedAt = lastSeenAt = now) and its greeting
   * (cursor 0), atomically. expiresAt = now + ttl. Refuses with 'capacity' when the store already
   * holds `maxSessions` live sessions.
   */
  create(input: NewSession, now: number): Promise<CreateOutcome>

  /** The session and its members, or null when unknown or expired. No side effect. */
  status(sessionId: string, now: number): Promise<StatusOutcome>

  /**
   * Adds a member, atomically with the checks: the session is live, it has fewer than maxAgents
   * members, the agentId is not a member. Slides expiry (expiresAt = now + ttl).
   */
  join(sessionId: string, member: NewMember, now: number): Promise<JoinOutcome>

  /**
   * Appends a message, atomically: the sender must be a member; when `keyHash` is given it must
   * equal the member's. The store assigns the next cursor (lastCursor + 1: strictly increasing,
   * no gaps, even under concurrent appends), sets createdAt = now, slides expiry, sets the
   * sender's lastSeenAt, drops the oldest messages beyond maxMessagesPerSession or
   * maxSessionBytes, and then tells watchers of the session. Refuses with 'capacity', changing
   * nothing, when the store's bytes plus this message's, less what its session drops, would pass
   * maxStoreBytes (expired sessions met on the way are forgotten first, freeing their bytes).
   * Refuses with 'ended', changing nothing, once the session has been ended. Checks, in order:
   * session live, a member, the key, not ended, capacity.
   */
  append(sessionId: string, draft: MessageDraft, keyHash: string | undefined, now: number): Promise<AppendOutcome>

  /**
   * Ends the session, atomically: for the member `agentId` (with `keyHash`, when given, equal to
   * its key), appends `final` (the core's system message saying who ended it and why) exactly as
   * `append` would (next cursor, expiry slid, the member's lastSeenAt set, drops, watchers told of
   * the message), and marks the session `ended = {by: agentId, reason, cursor: the final
   * message's, at: now}` in the same step. Ending an ended session answers 'ended' and changes
   * nothing, so of concurrent ends exactly one wins. Checks, in order, as append. After it every
   * `append` answers 'ended'; reads, status and renew go on until the session expires as usual.
   */
  end(sessionId: string, agentId: string, keyHash: string | undefined, final: MessageDraft, reason: string, now: number): Promise<EndOutcome>

  /**
   * Reads up to `limit` messages with cursor > `after`, in cursor order, for a member, and sets
   * that member's lastSeenAt = now. Does not slide the session's expiry. When `keyHash` is given
   * it must equal the member's ('bad_key', and nothing changes, otherwise). Checks, in order:
   * session live, a member, the key.
   */
  read(sessionId: string, request: ReadRequest, now: number): Promise<ReadOutcome>

  /**
   * For a member: sets the ttl when given, then expiresAt = now + ttl. When `keyHash` is given it
   * must equal the member's ('bad_key', and nothing changes, otherwise).
   */
  renew(sessionId: string, agentId: string, ttlSeconds: number | undefined, now: number, keyHash?: string): Promise<RenewOutcome>

  /**
   * Removes a member who shows the right key. The creator cannot be removed. The departed
   * member's messages stay. Checks, in order: session live, not the creator, a member, the key.
   */
  leave(sessionId: string, agentId: string, keyHash: string, now: number): Promise<LeaveOutcome>

  /**
   * Removes every member other than the creator whose lastSeenAt is older than `idleBefore`;
   * returns the ids removed. Used only when inactivity removal is switched on.
   */
  removeIdleMembers(sessionId: string, idleBefore: number, now: number): Promise<string[]>

  /**
   * Stores a new pairing code for a live session, atomically with the checks: the session is
   * live ('session_not_found'), it holds fewer than `maxPending` pending codes (unclaimed and
   * unexpired at `now`; 'too_many' otherwise), and the code is not taken ('exists': the caller
   * draws another).
   */
  createCode(code: PairingCodeRecord, now: number, maxPending: number): Promise<CreateCodeOutcome>

  /** The code's record until its forgetAt, else null. */
  getCode(code: string, now: number): Promise<PairingCodeRecord | null>

  /**
   * Claims a code: one indivisible step that checks the code is pending and unexpired, joins
   * the agent exactly as `join` does, and marks the code claimed. Of many concurrent claims
   * exactly one wins. A claim whose join fails leaves the code pending.
   */
  claim(code: string, member: NewMember, now: number): Promise<ClaimOutcome>

  /**
   * Counts one attempt under `key` in its current window and answers the count so far (this one
   * included) and when the window ends. A window of `windowMs` starts at the first attempt after
   * the previous one ended. Atomic: of concurrent calls each sees its own count, and on a shared
   * store every instance counts into the same window. The store forgets a key once its window
   * has ended. Used for the pairing-code failure budget (keys are the core's, e.g. `pair:<address>`).
   */
  countAttempt(key: string, windowMs: number, now: number): Promise<AttemptCount>

  /**
   * Takes back one attempt counted under `key` in the window running at `now` (an attempt that
   * turned out not to be a failure). Nothing when no window is running or its count is 0.
   */
  uncountAttempt(key: string, now: number): Promise<void>

  /**
   * Creates the identity (createdAt = lastConnectedAt = now) unless one with this agentId is
   * held; then it answers that one and changes nothing. Atomic: of concurrent registrations of
   * one id, on every instance, exactly one wins and the others are answered the winner's.
   */
  registerIdentity(agentId: string, keyHash: string, now: number): Promise<RegisterIdentityOutcome>

  /** The identity held for this agentId, or null. Identities do not expire by time alone; see forgetIdleIdentities. */
  getIdentity(agentId: string): Promise<IdentityRecord | null>

  /** Sets lastConnectedAt = now (never moving it back) for each of these ids that has an identity; others are ignored. */
  touchIdentities(agentIds: string[], now: number): Promise<void>

  /**
   * Forgets every identity whose lastConnectedAt is older than `idleBefore` (strictly), so the id
   * may be registered afresh; returns how many went. The caller keeps the ids it holds live
   * fresh with touchIdentities. Not part of `sweep`, whose callers know no identity TTL.
   */
  forgetIdleIdentities(idleBefore: number): Promise<number>

  /**
   * Forgets every session that expired by `now` (members, messages and all), every code past
   * its forgetAt and every attempt count whose window ended, so memory comes back; tells watchers of each ended session. Returns the number
   * of sessions removed.
   */
  sweep(now: number): Promise<number>

  stats(now: number): Promise<StoreStats>

  /**
   * Tells `watcher` of every event of the session from now on, until `unwatch`. Watchers are
   * told synchronously after the change commits and must be cheap. This is how realtime
   * delivery waits for "a message after cursor C in session S" without polling.
   */
  watch(sessionId: string, watcher: SessionWatcher): void

  /** Stops telling `watcher` of the session's events; a watcher not watching is ignored. */
  unwatch(sessionId: string, watcher: SessionWatcher): void

  close(): Promise<void>
}

// Webhooks: one per (session, member), delivered by src/webhooks/. Kept apart from the methods
// above so a store's webhook code stands in one block.

/** A member's webhook as the store keeps it. */
export interface WebhookRecord {
  url: string
  /** The signing secret (`whsec_...`): kept to sign deliveries, shown to its member once, never logged. */
  secret: string
  createdAt: number
  /** The last cursor delivered (answered 2xx); the messages after it are pending. */
  cursor: number
  lastSuccessAt: number | null
  lastError: string | null
  /** Failed attempts since the last success. */
  attempts: number
  /** When a worker should next look at it: a retry, a lease that ran out, or a periodic recheck. */
  nextAttemptAt: number
}

export interface WebhookRef {
  sessionId: string
  agentId: string
}

export type SetWebhookOutcome =
  | { ok: true; webhook: WebhookRecord; replaced: boolean }
  | { ok: false; reason: 'session_not_found' | 'not_member' | 'bad_key' | 'too_many' }

export type GetWebhookOutcome =
  | { ok: true; webhook: WebhookRecord | null; lastCursor: number }
  | { ok: false; reason: 'session_not_found' | 'not_member' | 'bad_key' }

export type RemoveWebhookOutcome =
  | { ok: true; removed: boolean }
  | { ok: false; reason: 'session_not_found' | 'not_member' | 'bad_key' }

export type LeaseWebhookOutcome =
  | { ok: true; webhook: WebhookRecord; lastCursor: number }
  /** 'held': another holder's lease runs; 'gone': no such webhook (or its session or member is gone). */
  | { ok: false; reason: 'held' | 'gone' }

/** How a lease ends. */
export type WebhookSettlement =
  /** Messages through `cursor` were delivered: the cursor moves there (never back), the health is good again. */
  | { kind: 'delivered'; cursor: number; recheckAt: number }
  /**
   * Nothing was sent (nothing pending, or the holder gave up its turn); the health is unchanged.
   * With `cursor`, the cursor still moves there (never back): messages the member need not get,
   * its own, were passed over.
   */
  | { kind: 'idle'; recheckAt: number; cursor?: number }
  | { kind: 'failed'; error: string; retryAt: number }

/** After a settle: 'lost' when the caller no longer held the lease (nothing changed); 'more' when messages wait past the cursor. */
export type SettleWebhookOutcome = 'settled' | 'more' | 'lost'

/**
 * The webhook methods every store has. Checks for the member's calls, in order: session live,
 * a member, the key (compared in constant time).
 */
export interface WebhookStore {
  /**
   * Sets or replaces the member's webhook. A new one starts at the session's lastCursor (only
   * later messages are delivered) and is due at once; a replacement keeps its cursor and takes
   * the new url and secret with a clean health. Refuses 'too_many' when the session already
   * has `maxPerSession` webhooks (a replacement never counts twice).
   */
  setWebhook(sessionId: string, agentId: string, keyHash: string, hook: { url: string; secret: string }, maxPerSession: number, now: number): Promise<SetWebhookOutcome>

  /** The member's webhook (null when it has none) and the session's lastCursor. No side effect. */
  getWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<GetWebhookOutcome>

  /** Removes the member's webhook; `removed` says whether there was one. */
  removeWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<RemoveWebhookOutcome>

  /**
   * Takes the webhook's lease for `holder` until `until`, compare-and-set: refused with 'held'
   * while another holder's lease runs (until > now). While leased the webhook is due again at
   * `until`, so a holder that dies leaves it to the next. A webhook whose session has ended or
   * whose member has left is forgotten here and answers 'gone'.
   */
  leaseWebhook(sessionId: string, agentId: string, holder: string, until: number, now: number): Promise<LeaseWebhookOutcome>

  /**
   * Ends `holder`'s lease with its result, atomically with the check that it still holds it
   * ('lost' otherwise, changing nothing). The next due time is the retry time after a failure;
   * otherwise `now` when messages wait past the cursor ('more') and `recheckAt` when none do.
   */
  settleWebhook(sessionId: string, agentId: string, holder: string, settlement: WebhookSettlement, now: number): Promise<SettleWebhookOutcome>

  /**
   * Up to `limit` webhooks due by `now` (nextAttemptAt <= now), soonest first: the worker's
   * way to find retries and work another instance, or a restart, left. Webhooks of ended
   * sessions may still be listed until a lease forgets them or the sweep does.
   */
  dueWebhooks(now: number, limit: number): Promise<WebhookRef[]>
}
