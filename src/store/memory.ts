import { sameKeyHash } from '../core/ids.js'
import type {
  AppendOutcome,
  AttemptCount,
  ClaimOutcome,
  CreateCodeOutcome,
  CreateOutcome,
  EndOutcome,
  IdentityRecord,
  JoinOutcome,
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
} from './store.js'
import type {
  GetWebhookOutcome, LeaseWebhookOutcome, RemoveWebhookOutcome, SetWebhookOutcome, SettleWebhookOutcome, WebhookRef, WebhookSettlement,
} from './store.js'
import { type HeldWebhook, holds, lease, mayLease, newWebhook, replaceWebhook, settle, stillOwned, webhookRecord } from './webhook-state.js'

interface Member extends MemberRecord {
  keyHash: string
}

/**
 * One session's state. The log holds consecutive cursors, so the message with cursor c sits at
 * `log[head + c - firstCursor]`: reads are an index, not a search. Dropped messages advance
 * `head`; the array is compacted now and then so it does not keep their slots forever.
 */
interface Room {
  record: SessionRecord
  members: Map<string, Member>
  log: (StoredMessage | undefined)[]
  head: number
  firstCursor: number
  droppedThrough: number
  /** Its pending codes (spent and expired ones are dropped whenever a code is made). */
  codes: string[]
  /** The sum of the held messages' `bytes`. */
  bytes: number
}

/** Compact the log once this many dropped slots pile up at its front. */
const COMPACT_AFTER = 1024
/** When full, a create sweeps at most this often before answering capacity. */
const CAPACITY_SWEEP_INTERVAL_MS = 1000

/**
 * The embedded default store: everything in this process's memory. JavaScript runs each method
 * body up to its first await as one uninterrupted step, and these methods never await inside,
 * so every method is atomic by construction.
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory'
  readonly #limits: StoreLimits
  readonly #rooms = new Map<string, Room>()
  readonly #codes = new Map<string, PairingCodeRecord>()
  readonly #watchers = new Map<string, Set<SessionWatcher>>()
  readonly #attempts = new Map<string, AttemptCount>()
  /** Hub identities by agent id. */
  readonly #identities = new Map<string, IdentityRecord>()
  #totalMessages = 0
  /** The sum of every held message's `bytes`, for maxStoreBytes. */
  #bytes = 0
  readonly #maxSessionBytes: number
  readonly #maxStoreBytes: number
  #lastCapacitySweep = -Infinity
  #lastBytesSweep = -Infinity
  /** Webhooks by session, then by member; a session's go with it (#end). */
  readonly #webhooks = new Map<string, Map<string, HeldWebhook>>()

  constructor(limits: StoreLimits) {
    this.#limits = limits
    this.#maxSessionBytes = limits.maxSessionBytes ?? Number.POSITIVE_INFINITY
    this.#maxStoreBytes = limits.maxStoreBytes ?? Number.POSITIVE_INFINITY
  }

  async create(input: NewSession, now: number): Promise<CreateOutcome> {
    if (this.#rooms.size >= this.#limits.maxSessions && now - this.#lastCapacitySweep >= CAPACITY_SWEEP_INTERVAL_MS) {
      this.#lastCapacitySweep = now
      this.#sweepNow(now)
    }
    if (this.#rooms.size >= this.#limits.maxSessions) return { ok: false, reason: 'capacity' }
    const record: SessionRecord = {
      id: input.id,
      ttlSeconds: input.ttlSeconds,
      maxAgents: input.maxAgents,
      creatorAgentId: input.creatorAgentId,
      createdAt: now,
      expiresAt: now + input.ttlSeconds * 1000,
      lastCursor: 0,
      ended: null,
    }
    const room: Room = { record, members: new Map(), log: [], head: 0, firstCursor: 1, droppedThrough: -1, codes: [], bytes: 0 }
    if (input.creator) {
      room.members.set(input.creator.agentId, newMember(input.creator, now))
    }
    if (input.greeting) {
      room.firstCursor = 0
      room.log.push(storedMessage(input.greeting, input.greeting.agentId, 0, now))
      room.bytes = input.greeting.bytes
      this.#bytes += input.greeting.bytes
      this.#totalMessages++
    }
    this.#rooms.set(record.id, room)
    return { ok: true, session: { ...record } }
  }

  async status(sessionId: string, now: number): Promise<StatusOutcome> {
    const room = this.#live(sessionId, now)
    if (!room) return null
    return { session: copy(room.record), members: memberList(room) }
  }

  async join(sessionId: string, member: NewMember, now: number): Promise<JoinOutcome> {
    const room = this.#live(sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    const refused = admit(room, member, now)
    if (refused) return { ok: false, reason: refused }
    return { ok: true, session: copy(room.record), agentCount: room.members.size }
  }

  async append(sessionId: string, draft: MessageDraft, keyHash: string | undefined, now: number): Promise<AppendOutcome> {
    return this.#append(sessionId, draft.agentId, draft, keyHash, undefined, now)
  }

  async end(sessionId: string, agentId: string, keyHash: string | undefined, final: MessageDraft, reason: string, now: number): Promise<EndOutcome> {
    return this.#append(sessionId, agentId, final, keyHash, reason, now)
  }

  /** An append by member `agentId`; with `endReason`, the final one, which ends the session. */
  #append(sessionId: string, agentId: string, draft: MessageDraft, keyHash: string | undefined, endReason: string | undefined, now: number): AppendOutcome {
    const room = this.#live(sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    const sender = room.members.get(agentId)
    if (!sender) return { ok: false, reason: 'not_member' }
    if (keyHash !== undefined && !sameKeyHash(keyHash, sender.keyHash)) return { ok: false, reason: 'bad_key' }
    if (room.record.ended) return { ok: false, reason: 'ended' }
    const drop = this.#toDrop(room, draft.bytes)
    if (this.#bytes + draft.bytes - drop.bytes > this.#maxStoreBytes && !this.#freedFor(draft.bytes - drop.bytes, now)) {
      return { ok: false, reason: 'capacity' }
    }
    // The member's copy of its id, not the request's: one string for all its messages.
    const message = storedMessage(draft, endReason === undefined ? sender.agentId : draft.agentId, room.record.lastCursor + 1, now)
    room.log.push(message)
    room.bytes += message.bytes
    this.#bytes += message.bytes
    room.record.lastCursor = message.cursor
    if (endReason !== undefined) room.record.ended = { by: sender.agentId, reason: endReason, cursor: message.cursor, at: now }
    room.record.expiresAt = now + room.record.ttlSeconds * 1000
    sender.lastSeenAt = now
    this.#totalMessages++
    this.#drop(room, drop.count)
    // Looked up first: most sends go to sessions nobody waits on, and need no event built.
    const watchers = this.#watchers.get(sessionId)
    if (watchers) notify(watchers, { type: 'message', sessionId, cursor: message.cursor, agentId: message.agentId })
    return { ok: true, message, session: copy(room.record) }
  }

  async read(sessionId: string, request: ReadRequest, now: number): Promise<ReadOutcome> {
    const room = this.#live(sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    const reader = room.members.get(request.agentId)
    if (!reader) return { ok: false, reason: 'not_member' }
    if (request.keyHash !== undefined && !sameKeyHash(request.keyHash, reader.keyHash)) return { ok: false, reason: 'bad_key' }
    reader.lastSeenAt = now
    const start = Math.max(request.after + 1, room.firstCursor)
    const from = room.head + (start - room.firstCursor)
    let to = Math.min(room.log.length, from + request.limit)
    if (request.maxBytes !== undefined) {
      // The first message whatever its size, then as many as fit in the budget.
      let bytes = 0
      for (let i = from; i < to; i++) {
        bytes += (room.log[i] as StoredMessage).bytes
        if (bytes > request.maxBytes && i > from) {
          to = i
          break
        }
      }
    }
    const messages = from < to ? (room.log.slice(from, to) as StoredMessage[]) : []
    const outcome: ReadOutcome = {
      ok: true,
      session: copy(room.record),
      messages,
      hasMore: to < room.log.length,
      oldestCursor: room.firstCursor,
      droppedThrough: room.droppedThrough,
    }
    if (request.withMembers) outcome.members = memberList(room)
    return outcome
  }

  async renew(sessionId: string, agentId: string, ttlSeconds: number | undefined, now: number, keyHash?: string): Promise<RenewOutcome> {
    const room = this.#live(sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    const member = room.members.get(agentId)
    if (!member) return { ok: false, reason: 'not_member' }
    if (keyHash !== undefined && !sameKeyHash(keyHash, member.keyHash)) return { ok: false, reason: 'bad_key' }
    if (ttlSeconds !== undefined) room.record.ttlSeconds = ttlSeconds
    room.record.expiresAt = now + room.record.ttlSeconds * 1000
    return { ok: true, session: copy(room.record), agents: [...room.members.keys()] }
  }

  async leave(sessionId: string, agentId: string, keyHash: string, now: number): Promise<LeaveOutcome> {
    const room = this.#live(sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    if (room.record.creatorAgentId === agentId) return { ok: false, reason: 'creator' }
    const member = room.members.get(agentId)
    if (!member) return { ok: false, reason: 'agent_not_found' }
    if (!sameKeyHash(keyHash, member.keyHash)) return { ok: false, reason: 'bad_key' }
    room.members.delete(agentId)
    this.#emit({ type: 'member_removed', sessionId, agentId })
    return { ok: true, session: copy(room.record) }
  }

  async removeIdleMembers(sessionId: string, idleBefore: number, now: number): Promise<string[]> {
    const room = this.#live(sessionId, now)
    if (!room) return []
    const removed: string[] = []
    for (const member of room.members.values()) {
      if (member.agentId !== room.record.creatorAgentId && member.lastSeenAt < idleBefore) removed.push(member.agentId)
    }
    for (const agentId of removed) {
      room.members.delete(agentId)
      this.#emit({ type: 'member_removed', sessionId, agentId })
    }
    return removed
  }

  async createCode(code: PairingCodeRecord, now: number, maxPending: number): Promise<CreateCodeOutcome> {
    const room = this.#live(code.sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    // The room lists only its pending codes: spent and expired ones leave it here, so the list
    // (and this count) stays within maxPending however many codes a long session makes.
    room.codes = room.codes.filter((name) => {
      const record = this.#codes.get(name)
      return record !== undefined && record.claimedAt === null && record.expiresAt > now
    })
    if (room.codes.length >= maxPending) return { ok: false, reason: 'too_many' }
    if (this.#codes.has(code.code)) return { ok: false, reason: 'exists' }
    this.#codes.set(code.code, { ...code })
    room.codes.push(code.code)
    return { ok: true }
  }

  async getCode(code: string, now: number): Promise<PairingCodeRecord | null> {
    const record = this.#codes.get(code)
    if (!record || record.forgetAt <= now) return null
    // Looking the session up ends it if it has expired, which expires its pending codes.
    if (record.claimedAt === null && record.expiresAt > now) this.#live(record.sessionId, now)
    return { ...record }
  }

  async claim(code: string, member: NewMember, now: number): Promise<ClaimOutcome> {
    const record = this.#codes.get(code)
    if (!record || record.forgetAt <= now) return { ok: false, reason: 'code_not_found' }
    if (record.claimedAt !== null || record.expiresAt <= now) return { ok: false, reason: 'code_expired_or_used' }
    const room = this.#live(record.sessionId, now)
    if (!room) return { ok: false, reason: 'session_not_found' }
    const refused = admit(room, member, now)
    if (refused) return { ok: false, reason: refused }
    record.claimedAt = now
    return { ok: true, session: copy(room.record), agentCount: room.members.size }
  }

  async countAttempt(key: string, windowMs: number, now: number): Promise<AttemptCount> {
    let attempts = this.#attempts.get(key)
    if (!attempts || attempts.resetAt <= now) {
      attempts = { count: 0, resetAt: now + windowMs }
      this.#attempts.set(key, attempts)
    }
    attempts.count++
    return { ...attempts }
  }

  async uncountAttempt(key: string, now: number): Promise<void> {
    const attempts = this.#attempts.get(key)
    if (attempts && attempts.resetAt > now && attempts.count > 0) attempts.count--
  }

  async registerIdentity(agentId: string, keyHash: string, now: number): Promise<RegisterIdentityOutcome> {
    const held = this.#identities.get(agentId)
    if (held) return { ok: false, identity: { ...held } }
    this.#identities.set(agentId, { agentId, keyHash, createdAt: now, lastConnectedAt: now })
    return { ok: true }
  }

  async getIdentity(agentId: string): Promise<IdentityRecord | null> {
    const held = this.#identities.get(agentId)
    return held ? { ...held } : null
  }

  async touchIdentities(agentIds: string[], now: number): Promise<void> {
    for (const agentId of agentIds) {
      const held = this.#identities.get(agentId)
      if (held && held.lastConnectedAt < now) held.lastConnectedAt = now
    }
  }

  async forgetIdleIdentities(idleBefore: number): Promise<number> {
    let forgotten = 0
    for (const [agentId, identity] of this.#identities) {
      if (identity.lastConnectedAt >= idleBefore) continue
      this.#identities.delete(agentId)
      forgotten++
    }
    return forgotten
  }

  async sweep(now: number): Promise<number> {
    return this.#sweepNow(now)
  }

  async stats(now: number): Promise<StoreStats> {
    let activeSessions = 0
    let totalAgents = 0
    for (const room of this.#rooms.values()) {
      if (room.record.expiresAt <= now) continue
      activeSessions++
      totalAgents += room.members.size
    }
    return { activeSessions, totalAgents, totalMessages: this.#totalMessages, bytesHeld: this.#bytes }
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

  async close(): Promise<void> {
    this.#rooms.clear()
    this.#codes.clear()
    this.#attempts.clear()
    this.#webhooks.clear()
  }

  // Webhooks.

  async setWebhook(sessionId: string, agentId: string, keyHash: string, hook: { url: string; secret: string }, maxPerSession: number, now: number): Promise<SetWebhookOutcome> {
    const room = this.#webhookMember(sessionId, agentId, keyHash, now)
    if (typeof room === 'string') return { ok: false, reason: room }
    let hooks = this.#webhooks.get(sessionId)
    const held = hooks?.get(agentId)
    if (held) {
      replaceWebhook(held, hook, keyHash, now)
      return { ok: true, webhook: webhookRecord(held), replaced: true }
    }
    if ((hooks?.size ?? 0) >= maxPerSession) return { ok: false, reason: 'too_many' }
    if (!hooks) {
      hooks = new Map()
      this.#webhooks.set(sessionId, hooks)
    }
    const created = newWebhook(hook, keyHash, room.record.lastCursor, now)
    hooks.set(agentId, created)
    return { ok: true, webhook: webhookRecord(created), replaced: false }
  }

  async getWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<GetWebhookOutcome> {
    const room = this.#webhookMember(sessionId, agentId, keyHash, now)
    if (typeof room === 'string') return { ok: false, reason: room }
    const held = this.#webhooks.get(sessionId)?.get(agentId)
    // One left behind by an earlier member of the same id is not this one's.
    return { ok: true, webhook: held && stillOwned(held, keyHash) ? webhookRecord(held) : null, lastCursor: room.record.lastCursor }
  }

  async removeWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<RemoveWebhookOutcome> {
    const room = this.#webhookMember(sessionId, agentId, keyHash, now)
    if (typeof room === 'string') return { ok: false, reason: room }
    const hooks = this.#webhooks.get(sessionId)
    const removed = hooks?.delete(agentId) ?? false
    if (hooks && hooks.size === 0) this.#webhooks.delete(sessionId)
    return { ok: true, removed }
  }

  async leaseWebhook(sessionId: string, agentId: string, holder: string, until: number, now: number): Promise<LeaseWebhookOutcome> {
    const hooks = this.#webhooks.get(sessionId)
    const held = hooks?.get(agentId)
    if (!hooks || !held) return { ok: false, reason: 'gone' }
    const room = this.#live(sessionId, now)
    if (!room || !stillOwned(held, room.members.get(agentId)?.keyHash ?? null)) {
      hooks.delete(agentId)
      if (hooks.size === 0) this.#webhooks.delete(sessionId)
      return { ok: false, reason: 'gone' }
    }
    if (!mayLease(held, holder, now)) return { ok: false, reason: 'held' }
    lease(held, holder, until)
    return { ok: true, webhook: webhookRecord(held), lastCursor: room.record.lastCursor }
  }

  async settleWebhook(sessionId: string, agentId: string, holder: string, settlement: WebhookSettlement, now: number): Promise<SettleWebhookOutcome> {
    const held = this.#webhooks.get(sessionId)?.get(agentId)
    if (!held || !holds(held, holder)) return 'lost'
    const room = this.#live(sessionId, now)
    if (!room) return 'lost'
    return settle(held, settlement, room.record.lastCursor, now)
  }

  async dueWebhooks(now: number, limit: number): Promise<WebhookRef[]> {
    const due: (WebhookRef & { at: number })[] = []
    for (const [sessionId, hooks] of this.#webhooks) {
      for (const [agentId, held] of hooks) if (held.nextAttemptAt <= now) due.push({ sessionId, agentId, at: held.nextAttemptAt })
    }
    due.sort((a, b) => a.at - b.at)
    return due.slice(0, limit).map(({ sessionId, agentId }) => ({ sessionId, agentId }))
  }

  /** The live room of a member showing its key, or why not. */
  #webhookMember(sessionId: string, agentId: string, keyHash: string, now: number): Room | 'session_not_found' | 'not_member' | 'bad_key' {
    const room = this.#live(sessionId, now)
    if (!room) return 'session_not_found'
    const member = room.members.get(agentId)
    if (!member) return 'not_member'
    if (!sameKeyHash(keyHash, member.keyHash)) return 'bad_key'
    return room
  }

  /** The room if the session is live; an expired one met here is forgotten on the spot. */
  #live(sessionId: string, now: number): Room | undefined {
    const room = this.#rooms.get(sessionId)
    if (!room) return undefined
    if (room.record.expiresAt > now) return room
    this.#end(room, now)
    return undefined
  }

  #end(room: Room, now: number): void {
    this.#rooms.delete(room.record.id)
    this.#webhooks.delete(room.record.id)
    this.#bytes -= room.bytes
    for (const code of room.codes) {
      const record = this.#codes.get(code)
      if (record && record.claimedAt === null && record.expiresAt > now) record.expiresAt = now
    }
    this.#emit({ type: 'ended', sessionId: room.record.id })
  }

  #sweepNow(now: number): number {
    let removed = 0
    for (const room of this.#rooms.values()) {
      if (room.record.expiresAt <= now) {
        this.#end(room, now)
        removed++
      }
    }
    for (const [code, record] of this.#codes) {
      if (record.forgetAt <= now) this.#codes.delete(code)
    }
    for (const [key, attempts] of this.#attempts) {
      if (attempts.resetAt <= now) this.#attempts.delete(key)
    }
    return removed
  }

  /**
   * How many of the oldest messages a new one of `incoming` bytes pushes out of its room (by
   * count or by bytes; never the new one itself), and their bytes.
   */
  #toDrop(room: Room, incoming: number): { count: number; bytes: number } {
    const held = room.log.length - room.head
    let count = Math.max(0, held + 1 - this.#limits.maxMessagesPerSession)
    let bytes = 0
    for (let i = 0; i < count; i++) bytes += (room.log[room.head + i] as StoredMessage).bytes
    while (count < held && room.bytes - bytes + incoming > this.#maxSessionBytes) {
      bytes += (room.log[room.head + count] as StoredMessage).bytes
      count++
    }
    return { count, bytes }
  }

  /**
   * At the store's byte cap: forgets expired sessions (at most once a second, as create does)
   * and says whether `growth` more bytes now fit.
   */
  #freedFor(growth: number, now: number): boolean {
    if (now - this.#lastBytesSweep >= CAPACITY_SWEEP_INTERVAL_MS) {
      this.#lastBytesSweep = now
      this.#sweepNow(now)
    }
    return this.#bytes + growth <= this.#maxStoreBytes
  }

  #drop(room: Room, count: number): void {
    for (let i = 0; i < count; i++) {
      const bytes = (room.log[room.head] as StoredMessage).bytes
      room.bytes -= bytes
      this.#bytes -= bytes
      room.log[room.head] = undefined
      room.head++
      room.droppedThrough = room.firstCursor
      room.firstCursor++
    }
    if (room.head >= COMPACT_AFTER && room.head * 2 >= room.log.length) {
      room.log = room.log.slice(room.head)
      room.head = 0
    }
  }

  #emit(event: SessionEvent): void {
    const watchers = this.#watchers.get(event.sessionId)
    if (watchers) notify(watchers, event)
  }
}

/**
 * A message as kept, every field named in one literal, in one order. Built with a spread
 * (`{ ...draft, cursor, createdAt }`), each message got a hidden class of its own: a heap
 * snapshot showed a Map and a DescriptorArray (264 bytes) beside every kept message, a third
 * of what it cost, and every scavenge copied them. A literal shares one class among them all.
 */
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

/** A member as kept: one literal, for the same reason as storedMessage. */
function newMember(member: NewMember, now: number): Member {
  return { agentId: member.agentId, keyHash: member.keyHash, joinedAt: now, lastSeenAt: now }
}

/** Tells each watcher once, over a copy: a watcher may stop watching as it is told. */
function notify(watchers: Set<SessionWatcher>, event: SessionEvent): void {
  for (const watcher of [...watchers]) watcher.onSessionEvent(event)
}

/** Joins a member to a live room unless it is full or the id is taken; slides the expiry. */
function admit(room: Room, member: NewMember, now: number): 'session_full' | 'agent_id_taken' | null {
  if (room.members.has(member.agentId)) return 'agent_id_taken'
  if (room.members.size >= room.record.maxAgents) return 'session_full'
  room.members.set(member.agentId, newMember(member, now))
  room.record.expiresAt = now + room.record.ttlSeconds * 1000
  return null
}

/** A session's record as handed out: a copy, so no caller can change the room's (its end included). */
function copy(record: SessionRecord): SessionRecord {
  return { ...record, ended: record.ended ? { ...record.ended } : null }
}

function memberList(room: Room): MemberRecord[] {
  return [...room.members.values()].map(({ agentId, joinedAt, lastSeenAt }) => ({ agentId, joinedAt, lastSeenAt }))
}
