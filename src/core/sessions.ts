import { checkAgentId, requireAgentId, SYSTEM_AGENT_ID } from './agents.js'
import type { Clock } from './clock.js'
import { nexusError } from './errors.js'
import { hashSessionKey, isSessionId, newMessageId, newSessionId, newSessionKey } from './ids.js'
import type { CreateSessionInput, EndInput, SendInput } from './inputs.js'
import { boundsError, escapedBytes, measureJson } from './json-bounds.js'
import { CAPACITY_RETRY_SECONDS, type CoreLimits, DEFAULT_MAX_AGENTS, DEFAULT_TTL_SECONDS, JSON_NODE_BYTES, MAX_JSON_DEPTH, MAX_JSON_NODES, MAX_PAGE } from './limits.js'
import type { Redactor } from './redact/index.js'
import { LongPoll, type PollReceiver, type WakeReason } from './long-poll.js'
import { type CoreMeter, silentMeter } from './meter.js'
import type { JsonValue, MemberRecord, MessageDraft, SessionEnd, SessionRecord, SessionStore, SessionWatcher, StoredMessage, StoreStats } from '../store/store.js'

export interface SessionServiceDeps {
  store: SessionStore
  clock: Clock
  limits: CoreLimits
  redactor: Redactor
  /**
   * REQUIRE_KEY_FOR_READS: poll (and long-poll, streams, the hub's reads) and renew need the
   * reader's session key too, not only leave. Off by default: published clients send no key there.
   */
  requireKeyForReads?: boolean
  /** Told of each message stored (the metrics); counts nothing when absent. */
  meter?: CoreMeter
}

export interface CreatedSession {
  session: SessionRecord
  /** Only when a creator was named: the creator's key, handed out this once. */
  sessionKey?: string
}

export interface Joined {
  session: SessionRecord
  agentId: string
  agentCount: number
  sessionKey: string
}

export interface Sent {
  message: StoredMessage
  session: SessionRecord
}

export interface PollRequest {
  /** Exclusive; absent reads from the start, greeting included. */
  after?: number
  limit?: number
  members?: boolean
  /** The reader's session key, as the way in received it; required when REQUIRE_KEY_FOR_READS is on. */
  sessionKey?: string | undefined
}

export interface Page {
  messages: StoredMessage[]
  nextCursor: number
  hasMore: boolean
  /** Present when messages after `after` were dropped before the caller read them. */
  gap?: { oldestCursor: number }
  members?: MemberRecord[]
  /** Present once the session was ended: nothing comes after `ended.cursor`, its final message. */
  ended?: SessionEnd
}

/** Why a session ended when its member gave no reason (the hub's word for it since its first day). */
export const DEFAULT_END_REASON = 'Chat ended'

export interface Ended {
  /** The final message: the system's, saying who ended the session and why. */
  message: StoredMessage
  session: SessionRecord
  end: SessionEnd
}

/**
 * The rules of sessions: create, status, join, send, poll, renew, leave, expiry and inactivity.
 * Every way in (HTTP, WebSocket hub) calls these functions, so the rules cannot drift apart.
 */
export class SessionService {
  readonly #store: SessionStore
  readonly #clock: Clock
  readonly #limits: CoreLimits
  readonly #redactor: Redactor
  readonly #meter: CoreMeter
  /** Long-polls in progress: on shutdown each is answered at once. */
  readonly #waiting = new Set<LongPoll>()
  #closing = false
  /**
   * Whether inactive members are removed (AGENT_INACTIVITY_SECONDS). Checked before calling
   * #removeIdle rather than inside it: an await, even of nothing, costs every send and poll a
   * promise and its reaction (about 400 B per hub message for the two).
   */
  readonly #removesIdle: boolean
  readonly #requireKeyForReads: boolean

  constructor(deps: SessionServiceDeps) {
    this.#store = deps.store
    this.#clock = deps.clock
    this.#limits = deps.limits
    this.#redactor = deps.redactor
    this.#meter = deps.meter ?? silentMeter
    this.#removesIdle = deps.limits.agentInactivitySeconds > 0
    this.#requireKeyForReads = deps.requireKeyForReads === true
  }

  async create(input: CreateSessionInput): Promise<CreatedSession> {
    const creatorAgentId = input.creatorAgentId ?? null
    if (creatorAgentId !== null) checkAgentId(creatorAgentId, 'creatorAgentId')
    const sessionKey = creatorAgentId !== null ? newSessionKey() : undefined
    let greeting: MessageDraft | undefined
    if (input.greeting !== undefined) {
      this.#measure(input.greeting, undefined)
      const redacted = this.#redactor.redactText(input.greeting)
      greeting = {
        id: newMessageId(),
        agentId: SYSTEM_AGENT_ID,
        text: redacted.text,
        verified: true,
        redactions: redacted.redactions,
        bytes: this.#measure(redacted.text, undefined),
      }
    }
    const outcome = await this.#store.create(
      {
        id: newSessionId(),
        // Defaults never exceed what the operator allows: a small MAX_TTL_SECONDS caps them too.
        ttlSeconds: input.ttl ?? Math.min(DEFAULT_TTL_SECONDS, this.#limits.maxTtlSeconds),
        maxAgents: input.maxAgents ?? Math.min(DEFAULT_MAX_AGENTS, this.#limits.maxAgents),
        creatorAgentId,
        ...(greeting ? { greeting } : {}),
        ...(creatorAgentId !== null && sessionKey
          ? { creator: { agentId: creatorAgentId, keyHash: hashSessionKey(sessionKey) } }
          : {}),
      },
      this.#clock(),
    )
    if (!outcome.ok) {
      throw nexusError('capacity_exceeded', 'The server holds its maximum number of sessions; retry later.', {
        retryAfter: CAPACITY_RETRY_SECONDS,
      })
    }
    if (greeting) this.#meter.messageStored(greeting.redactions)
    return sessionKey ? { session: outcome.session, sessionKey } : { session: outcome.session }
  }

  async status(sessionId: string): Promise<{ session: SessionRecord; members: MemberRecord[] }> {
    if (this.#removesIdle) await this.#removeIdle(sessionId)
    const found = isSessionId(sessionId) ? await this.#store.status(sessionId, this.#clock()) : null
    if (!found) throw nexusError('session_not_found')
    return found
  }

  async join(sessionId: string, rawAgentId: string | undefined): Promise<Joined> {
    const agentId = requireAgentId(rawAgentId)
    this.#requireSessionId(sessionId)
    if (this.#removesIdle) await this.#removeIdle(sessionId)
    const sessionKey = newSessionKey()
    const outcome = await this.#store.join(sessionId, { agentId, keyHash: hashSessionKey(sessionKey) }, this.#clock())
    if (!outcome.ok) throw nexusError(outcome.reason)
    return { session: outcome.session, agentId, agentCount: outcome.agentCount, sessionKey }
  }

  /**
   * Sends a message. No key is allowed (the message is unverified); a wrong key is refused.
   * Secrets are redacted before the store ever sees the message.
   */
  async send(sessionId: string, rawAgentId: string | undefined, rawKey: string | undefined, input: SendInput): Promise<Sent> {
    const agentId = requireAgentId(rawAgentId)
    const sessionKey = rawKey === '' ? undefined : rawKey
    this.#requireSessionId(sessionId)
    // Before anything else walks the json (the redactor copies it): its depth, values and size.
    const bytes = this.#measure(input.text, input.json)
    if (this.#removesIdle) await this.#removeIdle(sessionId)
    const draft: MessageDraft = { id: newMessageId(), agentId, verified: sessionKey !== undefined, redactions: NONE, bytes }
    if (input.text !== undefined) {
      const redacted = this.#redactor.redactText(input.text)
      draft.text = redacted.text
      draft.redactions = union(draft.redactions, redacted.redactions)
    }
    if (input.json !== undefined) {
      const redacted = this.#redactor.redactJson(input.json)
      draft.json = redacted.value as JsonValue
      draft.redactions = union(draft.redactions, redacted.redactions)
    }
    // A placeholder can be longer than the secret it replaced: charge what is stored.
    if (draft.redactions.length > 0) draft.bytes = this.#measure(draft.text, draft.json)
    const keyHash = sessionKey !== undefined ? hashSessionKey(sessionKey) : undefined
    const outcome = await this.#store.append(sessionId, draft, keyHash, this.#clock())
    if (!outcome.ok) {
      if (outcome.reason === 'not_member') throw nexusError('forbidden', 'Only members of the session may send; join it first.')
      if (outcome.reason === 'bad_key') throw nexusError('invalid_session_key')
      if (outcome.reason === 'ended') throw nexusError('channel_ended')
      if (outcome.reason === 'capacity') {
        throw nexusError('capacity_exceeded', `The server holds its maximum of ${this.#limits.maxStoreBytes} bytes of messages; retry later.`, {
          retryAfter: CAPACITY_RETRY_SECONDS,
        })
      }
      throw nexusError('session_not_found')
    }
    this.#meter.messageStored(outcome.message.redactions)
    return { message: outcome.message, session: outcome.session }
  }

  /**
   * Ends the session for every way in at once: one store step appends the final message (a
   * system message whose json says who ended it and why, so every reader meets the end once, in
   * cursor order, as the last message) and marks the session ended; every send after it is
   * `channel_ended`, as is a second end. Reads, status and renew go on until the session
   * expires. The member shows its session key, unless `vouched`: the way in has itself
   * authenticated the agent (the hub's connection, which passes the key it holds when it holds
   * one). The reason is redacted like any message.
   */
  async end(sessionId: string, rawAgentId: string | undefined, rawKey: string | undefined, input: EndInput, vouched = false): Promise<Ended> {
    const agentId = requireAgentId(rawAgentId)
    const sessionKey = rawKey === '' ? undefined : rawKey
    if (sessionKey === undefined && !vouched) throw nexusError('missing_session_key', 'The X-Session-Key header is required to end a session.')
    this.#requireSessionId(sessionId)
    if (this.#removesIdle) await this.#removeIdle(sessionId)
    const redacted = this.#redactor.redactText(input.reason === undefined || input.reason === '' ? DEFAULT_END_REASON : input.reason)
    const reason = redacted.text
    const text = `${agentId} ended the session: ${reason}`
    const json: JsonValue = { event: 'session_ended', endedBy: agentId, reason }
    const final: MessageDraft = {
      id: newMessageId(),
      agentId: SYSTEM_AGENT_ID,
      text,
      json,
      verified: true,
      redactions: redacted.redactions,
      bytes: this.#measure(text, json),
    }
    const keyHash = sessionKey !== undefined ? hashSessionKey(sessionKey) : undefined
    const outcome = await this.#store.end(sessionId, agentId, keyHash, final, reason, this.#clock())
    if (!outcome.ok) {
      if (outcome.reason === 'not_member') throw nexusError('agent_not_in_session', 'Only members of the session may end it.')
      if (outcome.reason === 'bad_key') throw nexusError('invalid_session_key_on_leave')
      if (outcome.reason === 'ended') throw nexusError('channel_ended')
      if (outcome.reason === 'capacity') {
        throw nexusError('capacity_exceeded', `The server holds its maximum of ${this.#limits.maxStoreBytes} bytes of messages; retry later.`, {
          retryAfter: CAPACITY_RETRY_SECONDS,
        })
      }
      throw nexusError('session_not_found')
    }
    this.#meter.messageStored(outcome.message.redactions)
    return { message: outcome.message, session: outcome.session, end: outcome.session.ended! }
  }

  /**
   * Reads a page for a member. `nextCursor` is the cursor of the last message returned or, when
   * none is, the session's latest cursor or `after` if that is smaller: a client that sends it
   * back never skips nor repeats a message.
   */
  async poll(sessionId: string, rawAgentId: string | undefined, request: PollRequest): Promise<Page> {
    const agentId = requireAgentId(rawAgentId)
    const keyHash = this.#readKey(request.sessionKey)
    this.#requireSessionId(sessionId)
    if (this.#removesIdle) await this.#removeIdle(sessionId)
    // Awaited here rather than handed back: an async function returning a promise takes two
    // more turns and allocates a pair of resolvers to adopt it.
    return await this.#read(sessionId, agentId, request, keyHash)
  }

  /**
   * A poll that, when nothing is newer than `after`, waits up to `waitMs` for the first message,
   * the session's end or the reader's removal, and then tells `receiver` the page (or the error)
   * as `poll` would. The way in calls `cancel()` on the returned poll when its client goes away.
   * Bad ids throw at once; everything later goes to the receiver.
   *
   * Callbacks rather than a promise: a waiter at rest is then the LongPoll alone, where a promise
   * chain through the core and the route held five promises and their closures (bench/README.md).
   */
  longPoll(sessionId: string, rawAgentId: string | undefined, request: PollRequest, waitMs: number, receiver: PollReceiver): LongPoll {
    const agentId = requireAgentId(rawAgentId)
    const keyHash = this.#readKey(request.sessionKey)
    this.#requireSessionId(sessionId)
    const poll = new LongPoll(sessionId, agentId, request, keyHash, receiver, this.#resume)
    this.#startLongPoll(poll, waitMs).catch((err: unknown) => {
      this.#endLongPoll(poll)
      poll.fail(err)
    })
    return poll
  }

  async #startLongPoll(poll: LongPoll, waitMs: number): Promise<void> {
    if (this.#removesIdle) await this.#removeIdle(poll.sessionId)
    if (this.#closing || waitMs <= 0) return poll.answer(await this.#read(poll.sessionId, poll.agentId, poll.request, poll.keyHash))
    // Watch before the first read, so nothing slips in between.
    this.#store.watch(poll.sessionId, poll)
    this.#waiting.add(poll)
    const page = await this.#read(poll.sessionId, poll.agentId, poll.request, poll.keyHash)
    // An ended session has nothing more to wait for: its reader hears so at once.
    if (page.messages.length > 0 || poll.gone || page.ended) {
      this.#endLongPoll(poll)
      return poll.answer(page)
    }
    poll.wait(waitMs, page)
  }

  /**
   * A wait ended: on a message read again; on a timeout or shutdown answer the empty page read
   * first (a timed-out long-poll costs one read, not two); report the session or reader gone.
   */
  readonly #resume = (poll: LongPoll, reason: WakeReason): void => {
    this.#endLongPoll(poll)
    if (reason === 'gone') return
    if (reason === 'ended') return poll.fail(nexusError('session_not_found'))
    if (reason === 'removed') return poll.fail(nexusError('agent_not_in_session'))
    const empty = poll.emptyPage
    if (reason !== 'message' && empty) return poll.answer(empty)
    this.#read(poll.sessionId, poll.agentId, poll.request, poll.keyHash).then(
      (page) => poll.answer(page),
      (err: unknown) => poll.fail(err),
    )
  }

  #endLongPoll(poll: LongPoll): void {
    poll.stop()
    this.#store.unwatch(poll.sessionId, poll)
    this.#waiting.delete(poll)
  }

  /** True once the server is shutting down: no new waits are taken. */
  get closing(): boolean {
    return this.#closing
  }

  /**
   * Answers every long-poll at once (with what it has, usually nothing) and takes no new
   * waits: the server is shutting down and must not hold requests open.
   */
  releaseWaiters(): void {
    this.#closing = true
    for (const poll of this.#waiting) poll.release()
  }

  async #read(sessionId: string, agentId: string, request: PollRequest, keyHash: string | undefined): Promise<Page> {
    const after = request.after ?? -1
    const outcome = await this.#store.read(
      sessionId,
      keyHash === undefined
        ? { agentId, after, limit: request.limit ?? MAX_PAGE, maxBytes: this.#limits.maxPageBytes, withMembers: request.members === true }
        : { agentId, after, limit: request.limit ?? MAX_PAGE, maxBytes: this.#limits.maxPageBytes, withMembers: request.members === true, keyHash },
      this.#clock(),
    )
    if (!outcome.ok) {
      if (outcome.reason === 'not_member') throw nexusError('agent_not_in_session')
      if (outcome.reason === 'bad_key') throw wrongReadKey()
      throw nexusError('session_not_found')
    }
    const last = outcome.messages.at(-1)
    const page: Page = {
      messages: outcome.messages,
      nextCursor: last ? last.cursor : after < 0 ? outcome.session.lastCursor : Math.min(after, outcome.session.lastCursor),
      hasMore: outcome.hasMore,
    }
    if (outcome.droppedThrough > after) page.gap = { oldestCursor: outcome.oldestCursor }
    if (outcome.members) page.members = outcome.members
    if (outcome.session.ended) page.ended = outcome.session.ended
    return page
  }

  async renew(
    sessionId: string,
    rawAgentId: string | undefined,
    ttlSeconds: number | undefined,
    rawKey?: string,
  ): Promise<{ session: SessionRecord; agents: string[] }> {
    const agentId = requireAgentId(rawAgentId)
    const keyHash = this.#readKey(rawKey)
    this.#requireSessionId(sessionId)
    if (this.#removesIdle) await this.#removeIdle(sessionId)
    const outcome = await this.#store.renew(sessionId, agentId, ttlSeconds, this.#clock(), keyHash)
    if (!outcome.ok) {
      if (outcome.reason === 'not_member') throw nexusError('forbidden', 'Only members of the session may renew it.')
      if (outcome.reason === 'bad_key') throw wrongReadKey()
      throw nexusError('session_not_found')
    }
    return { session: outcome.session, agents: outcome.agents }
  }

  /** An agent leaves on its own behalf, showing its key. The creator stays for the session's life. */
  async leave(sessionId: string, leavingAgentId: string, rawAgentId: string | undefined, sessionKey: string | undefined): Promise<{ session: SessionRecord; agentId: string }> {
    const agentId = requireAgentId(rawAgentId)
    if (agentId !== leavingAgentId) throw nexusError('forbidden', 'An agent may only remove itself.')
    if (sessionKey === undefined || sessionKey === '') throw nexusError('missing_session_key')
    this.#requireSessionId(sessionId)
    const outcome = await this.#store.leave(sessionId, agentId, hashSessionKey(sessionKey), this.#clock())
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'creator':
          throw nexusError('forbidden', 'The creator cannot leave the session; it ends when it expires.')
        case 'bad_key':
          throw nexusError('invalid_session_key_on_leave')
        default:
          throw nexusError(outcome.reason)
      }
    }
    return { session: outcome.session, agentId }
  }

  /**
   * Tells `watcher` of every event of the session (a message with its cursor, a member removed,
   * the session ended) until `unwatch`. For ways in that push messages to connected agents; they
   * read the messages themselves with `poll`.
   */
  watch(sessionId: string, watcher: SessionWatcher): void {
    this.#store.watch(sessionId, watcher)
  }

  unwatch(sessionId: string, watcher: SessionWatcher): void {
    this.#store.unwatch(sessionId, watcher)
  }

  stats(): Promise<StoreStats> {
    return this.#store.stats(this.#clock())
  }

  /** Forgets expired sessions and old codes; the app calls it on a timer. */
  sweep(): Promise<number> {
    return this.#store.sweep(this.#clock())
  }

  /**
   * The digest a read or renew must show, or undefined when none is required. With
   * REQUIRE_KEY_FOR_READS off a key sent anyway is not checked: reads behave as they always have.
   */
  #readKey(rawKey: string | undefined): string | undefined {
    if (!this.#requireKeyForReads) return undefined
    if (rawKey === undefined || rawKey === '') {
      throw nexusError('missing_session_key', 'This server requires the X-Session-Key header to read from or renew a session.')
    }
    return hashSessionKey(rawKey)
  }

  /** Ids that cannot be a session's are unknown sessions, not malformed requests. */
  #requireSessionId(sessionId: string): void {
    if (!isSessionId(sessionId)) throw nexusError('session_not_found')
  }

  /**
   * Checks a message's bounds and answers the bytes it is charged. MAX_MESSAGE_BYTES counts the
   * text and json as JSON writes them (escapes included, quotes not), so a message is at most
   * about that size inside any reply; the charge adds JSON_NODE_BYTES per json value.
   */
  #measure(text: string | undefined, json: unknown): number {
    const limit = this.#limits.maxMessageBytes
    const tooLarge = () => nexusError('payload_too_large', `A message may hold at most ${limit} bytes, counted as JSON writes its text and json.`)
    let bytes = text !== undefined ? escapedBytes(text) - 2 : 0
    if (bytes > limit) throw tooLarge()
    if (json === undefined) return bytes
    const verdict = measureJson(json, { maxDepth: MAX_JSON_DEPTH, maxNodes: MAX_JSON_NODES, maxBytes: limit - bytes })
    if (!verdict.ok) throw verdict.problem === 'bytes' ? tooLarge() : boundsError(verdict.problem, 'json')
    bytes += verdict.bytes
    return bytes + verdict.nodes * JSON_NODE_BYTES
  }

  /** Inactivity removal, when switched on, is applied lazily before any call that reads members. */
  async #removeIdle(sessionId: string): Promise<void> {
    const seconds = this.#limits.agentInactivitySeconds
    if (seconds <= 0 || !isSessionId(sessionId)) return
    const now = this.#clock()
    await this.#store.removeIdleMembers(sessionId, now - seconds * 1000, now)
  }
}

/** A read or renew whose key does not match: the caller failed to authenticate, as on leave. */
function wrongReadKey() {
  return nexusError('invalid_session_key_on_leave', 'The session key does not match this agent.')
}

/**
 * No redactions: one list for every message that has none, rather than an empty array kept with
 * each. Frozen, since it is shared: nothing may add to a stored message's list.
 */
const NONE: string[] = Object.freeze([]) as unknown as string[]

/** The types of both lists, each once; either list itself when the other is empty (the usual case). */
function union(a: string[], b: string[]): string[] {
  if (b.length === 0) return a
  if (a.length === 0) return b
  return [...new Set([...a, ...b])]
}
