import { Agent, type Dispatcher } from 'undici'
import { type BackoffPolicy, defaultBackoff } from './backoff.js'
import { NexusApiError } from './errors.js'
import { Http } from './http.js'
import { MessageStream, type MessagesOptions } from './messages.js'
import type {
  Claimed,
  CreatedSession,
  CreateSessionInput,
  Ended,
  Health,
  Joined,
  Left,
  MessageInput,
  MessagePage,
  PairingCode,
  PairingStatus,
  Renewed,
  SentMessage,
  SessionStatus,
  Stats,
  WebhookHealth,
  WebhookSet,
} from './types.js'

export interface NexusClientOptions {
  /** The server; default `http://127.0.0.1:8765`. A path prefix (`https://host/nexus`) is kept. */
  baseUrl?: string
  /** The agent this client speaks for, unless a call names another. */
  agentId?: string
  /** Bound on one request, reply read whole (a long-poll gets its wait on top); default 10000. */
  timeoutMs?: number
  /** Retries after 429, `503 capacity_exceeded` or `shutting_down`, and (GET only) transport failures; default 3. */
  maxRetries?: number
  /** The longest `Retry-After` honoured, in ms (a longer one is cut to this); default 60000. */
  maxRetryAfterMs?: number
  /** Backoff between retries and reconnects; default 250 ms doubling up to 15 s, with jitter. */
  backoff?: Partial<BackoffPolicy>
  /** An event stream silent this long (no event, no keep-alive) is dropped and reopened; default 45000. */
  sseIdleTimeoutMs?: number
  /** undici dispatcher to share; default a keep-alive Agent of the client's own, closed by `close()`. */
  dispatcher?: Dispatcher
}

export interface AgentOptions {
  /** Acts as this agent instead of the client's own. */
  agentId?: string
}

export interface SendOptions extends AgentOptions {
  /** Overrides the key the client remembers; without either the message is sent unverified. */
  sessionKey?: string
}

export interface PollOptions extends AgentOptions {
  /** Exclusive cursor; absent reads from the start, greeting included. */
  after?: string | number
  /** 1 … 1000; the server's default is 1000. */
  limit?: number
  /** Adds `members` to the page. */
  members?: boolean
  /** Long-poll: seconds (0 … 60, fractions allowed) to hold the request when nothing is newer. */
  wait?: number
  /** Aborts the request (it rejects with the signal's reason). */
  signal?: AbortSignal
}

export interface RenewOptions extends AgentOptions {
  /** Seconds; replaces the session's ttl. */
  ttl?: number
}

export interface EndOptions extends AgentOptions {
  /** Why, for the other members; the server's default is "Chat ended". */
  reason?: string
  /** Overrides the key the client remembers (one is required to end). */
  sessionKey?: string
}

export interface LeaveOptions extends AgentOptions {
  /** Overrides the key the client remembers (one is required to leave). */
  sessionKey?: string
}

/**
 * A client of a Nexus server. One instance may serve many sessions and agents: it remembers the
 * session key handed out by create-with-creator, join and claim (per session and agent) and
 * shows it on send and leave. Errors are NexusApiError (the server said no) or
 * NexusTransportError (no usable reply); see `isNexusError`.
 */
export class NexusClient {
  /** The agent this client speaks for when a call names none. */
  readonly agentId: string | undefined
  readonly baseUrl: string
  readonly #http: Http
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #timeoutMs: number
  readonly #sseIdleTimeoutMs: number
  readonly #backoff: BackoffPolicy
  /** session id → agent id → key, the agent last entered as last. */
  readonly #keys = new Map<string, Map<string, string>>()

  /** Makes a client; no request is sent until a method is called. */
  constructor(options: NexusClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1:8765'
    this.agentId = options.agentId
    this.#timeoutMs = options.timeoutMs ?? 10_000
    this.#sseIdleTimeoutMs = options.sseIdleTimeoutMs ?? 45_000
    this.#backoff = { ...defaultBackoff, ...options.backoff }
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 })
    this.#http = new Http({
      baseUrl: this.baseUrl,
      dispatcher: this.#dispatcher,
      timeoutMs: this.#timeoutMs,
      maxRetries: options.maxRetries ?? 3,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      backoff: this.#backoff,
      userAgent: 'nexus-client/0.1',
    })
  }

  /** Creates a session. With `creatorAgentId` the creator is joined and its key remembered. */
  async createSession(input: CreateSessionInput = {}): Promise<CreatedSession> {
    const created = await this.#http.json<CreatedSession>({ method: 'PUT', path: '/v1/sessions', body: input })
    if (created.creatorAgentId !== undefined && created.sessionKey !== undefined) {
      this.setSessionKey(created.sessionId, created.sessionKey, created.creatorAgentId)
    }
    return created
  }

  /** A session's public status: members, ttl, expiry. */
  async status(sessionId: string): Promise<SessionStatus> {
    return this.#onSession(sessionId, this.#http.json<SessionStatus>({ method: 'GET', path: sessionPath(sessionId) }))
  }

  /** Joins a session as `agentId` (default the client's) and remembers the key it is given. */
  async join(sessionId: string, agentId?: string): Promise<Joined> {
    const joined = await this.#onSession(sessionId, this.#http.json<Joined>({
      method: 'POST',
      path: `${sessionPath(sessionId)}/join`,
      headers: { 'x-agent-id': this.#ownAgent(agentId, 'join') },
    }))
    this.setSessionKey(joined.sessionId, joined.sessionKey, joined.agentId)
    return joined
  }

  /** Claims a pairing code: joins its session as `agentId` and remembers the key. */
  async claim(code: string, agentId?: string): Promise<Claimed> {
    const claimed = await this.#http.json<Claimed>({
      method: 'POST',
      path: `/v1/pair/${encodeURIComponent(code)}/claim`,
      headers: { 'x-agent-id': this.#ownAgent(agentId, 'claim') },
    })
    this.setSessionKey(claimed.sessionId, claimed.sessionKey, claimed.agentId)
    return claimed
  }

  /** Makes a single-use pairing code (and link) for a session. */
  async pair(sessionId: string): Promise<PairingCode> {
    return this.#onSession(sessionId, this.#http.json<PairingCode>({ method: 'PUT', path: '/v1/pair', body: { sessionId } }))
  }

  /** Whether a pairing code is still pending, claimed or expired. */
  async pairStatus(code: string): Promise<PairingStatus> {
    return this.#http.json<PairingStatus>({ method: 'GET', path: `/v1/pair/${encodeURIComponent(code)}/status` })
  }

  /**
   * Sends a message (a string is shorthand for `{text}`). The remembered key, or the one given,
   * makes it verified; without a key it is sent unverified.
   */
  async send(sessionId: string, message: MessageInput | string, options: SendOptions = {}): Promise<SentMessage> {
    const agentId = this.#agentFor(sessionId, options.agentId, 'send')
    const body = typeof message === 'string' ? { text: message } : message
    return this.#onSession(sessionId, this.#http.json<SentMessage>({
      method: 'POST',
      path: `${sessionPath(sessionId)}/messages`,
      headers: { 'x-agent-id': agentId, 'x-session-key': options.sessionKey ?? this.sessionKey(sessionId, agentId) },
      body,
    }))
  }

  /** One page of messages after a cursor; with `wait` it is a long-poll. */
  async poll(sessionId: string, options: PollOptions = {}): Promise<MessagePage> {
    const agentId = this.#agentFor(sessionId, options.agentId, 'poll')
    return this.#onSession(sessionId, this.#http.json<MessagePage>({
      method: 'GET',
      path: `${sessionPath(sessionId)}/messages`,
      query: {
        after: options.after,
        limit: options.limit,
        members: options.members === undefined ? undefined : String(options.members),
        wait: options.wait,
      },
      headers: { 'x-agent-id': agentId },
      signal: options.signal,
      timeoutMs: (options.wait ?? 0) * 1000 + this.#timeoutMs,
    }))
  }

  /** Pushes the session's expiry to now + ttl (and replaces the ttl when given). */
  async renew(sessionId: string, options: RenewOptions = {}): Promise<Renewed> {
    const agentId = this.#agentFor(sessionId, options.agentId, 'renew')
    return this.#onSession(sessionId, this.#http.json<Renewed>({
      method: 'POST',
      path: `${sessionPath(sessionId)}/renew`,
      headers: { 'x-agent-id': agentId },
      body: options.ttl === undefined ? {} : { ttl: options.ttl },
    }))
  }

  /**
   * Ends the session for every member and every way in, showing the remembered or given key:
   * its final message says who ended it and why, and every send after it is refused with
   * `channel_ended` (as is a second end). Reads go on until the session expires.
   */
  async end(sessionId: string, options: EndOptions = {}): Promise<Ended> {
    const agentId = this.#agentFor(sessionId, options.agentId, 'end')
    return this.#onSession(sessionId, this.#http.json<Ended>({
      method: 'POST',
      path: `${sessionPath(sessionId)}/end`,
      headers: { 'x-agent-id': agentId, 'x-session-key': options.sessionKey ?? this.sessionKey(sessionId, agentId) },
      body: options.reason === undefined ? {} : { reason: options.reason },
    }))
  }

  /** Leaves a session (the creator cannot), showing the remembered or given key, and forgets the key. */
  async leave(sessionId: string, options: LeaveOptions = {}): Promise<Left> {
    const agentId = this.#agentFor(sessionId, options.agentId, 'leave')
    const left = await this.#onSession(sessionId, this.#http.json<Left>({
      method: 'DELETE',
      path: `${sessionPath(sessionId)}/agents/${encodeURIComponent(agentId)}`,
      headers: { 'x-agent-id': agentId, 'x-session-key': options.sessionKey ?? this.sessionKey(sessionId, agentId) },
    }))
    this.#keys.get(sessionId)?.delete(agentId)
    if (this.#keys.get(sessionId)?.size === 0) this.#keys.delete(sessionId)
    return left
  }

  /**
   * Sets (or replaces) this agent's webhook for a session: each new message is POSTed to `url`,
   * signed. Shows the remembered or given key. The reply's `secret` is shown this once.
   */
  async setWebhook(sessionId: string, url: string, options: SendOptions = {}): Promise<WebhookSet> {
    return this.#onSession(sessionId, this.#http.json<WebhookSet>({
      method: 'PUT',
      path: `${sessionPath(sessionId)}/webhook`,
      headers: this.#memberHeaders(sessionId, options, 'setWebhook'),
      body: { url },
    }))
  }

  /** This agent's webhook and its delivery health, or null when it has none. */
  async getWebhook(sessionId: string, options: SendOptions = {}): Promise<WebhookHealth | null> {
    const reply = await this.#onSession(sessionId, this.#http.json<{ webhook: WebhookHealth | null }>({
      method: 'GET',
      path: `${sessionPath(sessionId)}/webhook`,
      headers: this.#memberHeaders(sessionId, options, 'getWebhook'),
    }))
    return reply.webhook
  }

  /** Removes this agent's webhook; true when there was one. */
  async removeWebhook(sessionId: string, options: SendOptions = {}): Promise<boolean> {
    const reply = await this.#onSession(sessionId, this.#http.json<{ ok: true; removed: boolean }>({
      method: 'DELETE',
      path: `${sessionPath(sessionId)}/webhook`,
      headers: this.#memberHeaders(sessionId, options, 'removeWebhook'),
    }))
    return reply.removed
  }

  #memberHeaders(sessionId: string, options: SendOptions, method: string): Record<string, string> {
    const agentId = this.#agentFor(sessionId, options.agentId, method)
    const key = options.sessionKey ?? this.sessionKey(sessionId, agentId)
    if (key === undefined) throw new TypeError(`${method}: no session key for ${agentId}; join first or pass sessionKey`)
    return { 'x-agent-id': agentId, 'x-session-key': key }
  }

  /** Liveness, version and capabilities (is `json` allowed, long-poll, SSE…). */
  async health(): Promise<Health> {
    return this.#http.json<Health>({ method: 'GET', path: '/health' })
  }

  /** Counts across the server: live sessions, members, messages accepted. */
  async stats(): Promise<Stats> {
    return this.#http.json<Stats>({ method: 'GET', path: '/v1/stats' })
  }

  /**
   * Every message of a session, once each and in cursor order, for `for await`: over long-poll
   * (default) or server-sent events, reconnecting with backoff and resuming from its last cursor.
   * Breaking out of the loop or aborting `signal` ends it and drops the connection, and it ends
   * by itself after the final message of an ended session; the session expiring or the agent
   * leaving throws NexusApiError `session_not_found` / `agent_not_in_session`.
   */
  messages(sessionId: string, options: MessagesOptions = {}): MessageStream {
    return new MessageStream({
      http: this.#http,
      sessionId,
      agentId: this.#agentFor(sessionId, options.agentId, 'messages'),
      timeoutMs: this.#timeoutMs,
      sseIdleTimeoutMs: this.#sseIdleTimeoutMs,
    }, options)
  }

  /** The key remembered for `agentId` (default: as the other methods choose it) in a session. */
  sessionKey(sessionId: string, agentId?: string): string | undefined {
    const keys = this.#keys.get(sessionId)
    const agent = agentId ?? this.agentId ?? lastKey(keys)
    return agent === undefined ? undefined : keys?.get(agent)
  }

  /** Remembers a key obtained elsewhere (say, saved from an earlier run). */
  setSessionKey(sessionId: string, sessionKey: string, agentId?: string): void {
    const agent = this.#ownAgent(agentId, 'setSessionKey')
    let keys = this.#keys.get(sessionId)
    if (!keys) {
      keys = new Map()
      this.#keys.set(sessionId, keys)
    }
    keys.delete(agent)
    keys.set(agent, sessionKey)
  }

  /** Closes the client's connections (only those of its own dispatcher). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close()
  }

  /** The agent a call acts as: the one named, the client's, or the one this client last entered the session as. */
  #agentFor(sessionId: string, given: string | undefined, method: string): string {
    const agentId = given ?? this.agentId ?? lastKey(this.#keys.get(sessionId))
    if (agentId === undefined) throw new TypeError(`${method}: no agent id; pass agentId or give the client one`)
    return agentId
  }

  #ownAgent(given: string | undefined, method: string): string {
    const agentId = given ?? this.agentId
    if (agentId === undefined) throw new TypeError(`${method}: no agent id; pass agentId or give the client one`)
    return agentId
  }

  /** Forgets a session's keys once the server says the session is gone. */
  async #onSession<T>(sessionId: string, pending: Promise<T>): Promise<T> {
    try {
      return await pending
    } catch (err) {
      if (err instanceof NexusApiError && err.code === 'session_not_found') this.#keys.delete(sessionId)
      throw err
    }
  }
}

function sessionPath(sessionId: string): string {
  return `/v1/sessions/${encodeURIComponent(sessionId)}`
}

function lastKey(keys: Map<string, string> | undefined): string | undefined {
  let last: string | undefined
  for (const agentId of keys?.keys() ?? []) last = agentId
  return last
}
