import { randomUUID } from 'node:crypto'
import { WebSocket } from 'ws'
import { AgentKeyFile, defaultKeyDir } from './agent-keys.js'
import { type BackoffPolicy, backoffDelay, defaultBackoff } from './backoff.js'
import { EventQueue } from './chat-events.js'
import {
  type ChatAcceptEvent,
  type ChatClientOptions,
  type ChatEndEvent,
  type ChatHistory,
  ChatHubError,
  type ChatMessage,
  type ChatRequestResult,
  type HistoryOptions,
  type HubEvent,
  type HubListener,
  type MessageAck,
  type SendMessageOptions,
} from './chat-types.js'
import type { JsonValue } from './types.js'

type WireFrame = { type: string } & Record<string, any>

/** A request waiting for its answer from the hub. */
interface Pending {
  frameType: string
  requestId: string | undefined
  channelId: string | undefined
  frame: WireFrame
  /** Safe to send again on a new connection: the hub answers a repeat without doing it twice. */
  resend: boolean
  /** The socket it went out on, if it did. */
  sentOn: WebSocket | undefined
  resolve: (value: any) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** The hub closes a connection with this when another one took over its agent id: no reconnect then. */
const CLOSE_REPLACED = 4001
/** The hub closes a connection with this when its agent key was missing or wrong: no reconnect then. */
const CLOSE_INVALID_API_KEY = 4401
/** Events kept while nobody listens yet (`listenForMessages`, `messages()`); the oldest go beyond it. */
const MAX_BACKLOG = 10_000
const DEFAULT_REQUEST_CHAT_TIMEOUT_MS = 30_000

/**
 * A client of the chat hub (references/hub.md): one WebSocket, for one agent, that may both
 * provide services and consume them. It keeps its agent key (see ChatClientOptions.apiKey and
 * keyDir), reconnects by itself after a dropped connection, shows the key and the last cursor it
 * holds in each channel, and drops anything it already
 * had: no message is lost or repeated across a drop. Sends are retried on the new connection
 * under the same message id, which the hub answers without storing twice.
 */
export class ChatClient {
  readonly hubUrl: string
  readonly agentId: string
  #apiKey: string | undefined
  readonly #keyFile: AgentKeyFile | undefined
  readonly #clientType: string
  readonly #reconnect: boolean
  readonly #backoff: BackoffPolicy
  readonly #timeoutMs: number
  readonly #heartbeatMs: number
  readonly #onListenerError: (err: unknown) => void

  #ws: WebSocket | undefined
  /** Identified (`connected`) on the current socket. */
  #open = false
  #opening: Promise<void> | undefined
  /** Before connect() and after disconnect() (or a connection that ended for good). */
  #stopped = true
  /** Iterators end, and new ones start ended, after a disconnect. */
  #ended = false
  /** Between a dropped connection and the next `connected`. */
  #retrying = false
  #attempt = 0
  #reconnectTimer: NodeJS.Timeout | undefined
  #heartbeat: NodeJS.Timeout | undefined
  #lastHeard = 0
  #handshake: { ws: WebSocket; resolve: () => void; reject: (err: Error) => void } | undefined
  #clientId: string | undefined

  /** Channel id → the last cursor handed on: what the hub resumes from, and what is dropped as a repeat. */
  readonly #cursors = new Map<string, number>()
  readonly #pending = new Map<string, Pending>()
  /** Frames that need no answer, waiting for a connection. */
  readonly #queue: WireFrame[] = []
  /** Services this client provides: registered again on every new connection. */
  readonly #services = new Map<string, WireFrame>()
  /** Consumer id → its latest chat request, so acceptChat(consumerId) can name it. */
  readonly #requestsFrom = new Map<string, string>()
  readonly #listeners = new Set<HubListener>()
  readonly #iterators = new Set<EventQueue>()
  readonly #backlog: HubEvent[] = []
  #dispatch: Promise<void> = Promise.resolve()

  constructor(options: ChatClientOptions) {
    this.hubUrl = options.hubUrl ?? 'ws://localhost:8765'
    this.agentId = options.agentId
    const keyDir = options.keyDir ?? defaultKeyDir()
    this.#keyFile = keyDir === false ? undefined : new AgentKeyFile(keyDir, this.hubUrl, this.agentId)
    this.#apiKey = options.apiKey ?? this.#keyFile?.read()
    this.#clientType = options.clientType ?? 'nexus-ts'
    this.#reconnect = options.reconnect ?? true
    this.#backoff = { ...defaultBackoff, ...options.backoff }
    this.#timeoutMs = options.timeoutMs ?? 10_000
    this.#heartbeatMs = options.heartbeatMs ?? 15_000
    this.#onListenerError = options.onListenerError ?? ((err) => console.error('ChatClient listener failed:', err))
  }

  /** Identified with the hub right now. */
  get connected(): boolean {
    return this.#open
  }

  /** The hub's name for this connection, once connected. */
  get clientId(): string | undefined {
    return this.#clientId
  }

  /** The agent's key on this hub, shown in every connect: given, read from the key file, or handed out by the hub. */
  get apiKey(): string | undefined {
    return this.#apiKey
  }

  /**
   * Opens the connection and says who this is; resolves on `connected`. Rejects with
   * ChatHubError (`invalid_api_key`, `invalid_request`, `timeout`, `connection_failed`). From
   * then on a dropped connection is reopened by itself (unless `reconnect: false`).
   */
  async connect(): Promise<void> {
    if (this.#open) return
    this.#stopped = false
    this.#ended = false
    clearTimeout(this.#reconnectTimer)
    this.#opening ??= this.#openSocket().finally(() => {
      this.#opening = undefined
    })
    return this.#opening
  }

  /** Closes the connection for good: no reconnect; waiting calls reject with `disconnected`; `messages()` loops end. */
  async disconnect(): Promise<void> {
    const ws = this.#ws
    this.#finish('disconnect() was called')
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      ws.close(1000, 'bye')
      const timer = setTimeout(() => ws.terminate(), 1000)
      await closed
      clearTimeout(timer)
    }
  }

  /**
   * Registers this agent as the provider of `serviceId` (registered again after each reconnect).
   * Consumers then reach it with `requestChat(serviceId)`.
   */
  async register(serviceId: string, options: { name?: string; description?: string; timeoutMs?: number } = {}): Promise<void> {
    const frame = {
      type: 'register',
      service_id: serviceId,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.description !== undefined ? { description: options.description } : {}),
    }
    await this.#request(`register:${serviceId}`, frame, { resend: true, timeoutMs: options.timeoutMs })
    this.#services.set(serviceId, frame)
  }

  /**
   * Sends `content` (a string, or an object or array sent as JSON) to `target` (an agent id),
   * or into `options.channelId`, or into this agent's chat with `options.serviceId` (a provider
   * names the consumer as `target`). A first message to an agent with no channel opens a direct
   * channel for the pair. Resolves with the hub's ack once the message is stored.
   */
  async sendMessage(target: string | null | undefined, content: string | JsonValue, options: SendMessageOptions = {}): Promise<MessageAck> {
    if (!target && options.serviceId === undefined && options.channelId === undefined) {
      throw new TypeError('sendMessage: name a target agent, a serviceId or a channelId')
    }
    const messageId = options.messageId ?? randomUUID()
    const frame = {
      type: 'chat_message',
      message_id: messageId,
      content,
      ...(target ? { target_agent: target } : {}),
      ...(options.serviceId !== undefined ? { service_id: options.serviceId } : {}),
      ...(options.channelId !== undefined ? { channel_id: options.channelId } : {}),
    }
    const ack = await this.#request<WireFrame>(`ack:${messageId}`, frame, { resend: true, requestId: messageId, timeoutMs: options.timeoutMs })
    return {
      messageId: ack.message_id,
      id: ack.id,
      channelId: ack.channel_id,
      cursor: ack.cursor,
      status: ack.status,
      verified: ack.verified,
      redactions: ack.redactions ?? [],
    }
  }

  /**
   * Asks the provider of `serviceId` for a chat and waits for its answer: accepted (with the
   * channel), rejected (with the reason), or `timeout` after `timeoutMs` (default 30000; an
   * accept that comes later still arrives as a `chat_accept` event). An unknown service or an
   * offline provider rejects with ChatHubError `service_not_found` / `provider_offline`.
   */
  requestChat(serviceId: string, options: { message?: string; timeoutMs?: number } = {}): Promise<ChatRequestResult> {
    const requestId = randomUUID()
    const frame = { type: 'chat_request', request_id: requestId, service_id: serviceId, ...(options.message !== undefined ? { message: options.message } : {}) }
    return this.#request<ChatRequestResult>(`request:${requestId}`, frame, {
      resend: false,
      requestId,
      timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_CHAT_TIMEOUT_MS,
      onTimeout: () => ({ status: 'timeout', requestId }),
    })
  }

  /** Accepts a consumer's chat request (its latest, unless `requestId` says which); resolves with the new channel. */
  async acceptChat(consumerId: string, options: { requestId?: string; timeoutMs?: number } = {}): Promise<ChatAcceptEvent> {
    const requestId = options.requestId ?? this.#requestsFrom.get(consumerId)
    const frame = { type: 'chat_accept', consumer_id: consumerId, ...(requestId !== undefined ? { request_id: requestId } : {}) }
    const accepted = await this.#request<ChatAcceptEvent>(`accept:${consumerId}:${requestId ?? ''}`, frame, { resend: false, requestId, timeoutMs: options.timeoutMs })
    if (this.#requestsFrom.get(consumerId) === accepted.requestId) this.#requestsFrom.delete(consumerId)
    return accepted
  }

  /** Rejects a consumer's chat request; the consumer's `requestChat` resolves `rejected` with `reason`. */
  async rejectChat(consumerId: string, reason?: string, options: { requestId?: string } = {}): Promise<void> {
    const requestId = options.requestId ?? this.#requestsFrom.get(consumerId)
    if (requestId !== undefined && this.#requestsFrom.get(consumerId) === requestId) this.#requestsFrom.delete(consumerId)
    this.#post({
      type: 'chat_reject',
      consumer_id: consumerId,
      ...(requestId !== undefined ? { request_id: requestId } : {}),
      ...(reason !== undefined ? { reason } : {}),
    })
  }

  /** Ends a channel for both sides; resolves when this client gets the `chat_end` (after the channel's last message). */
  endChat(channelId: string, reason?: string, options: { timeoutMs?: number } = {}): Promise<ChatEndEvent> {
    const frame = { type: 'chat_end', channel_id: channelId, ...(reason !== undefined ? { reason } : {}) }
    return this.#request<ChatEndEvent>(`end:${channelId}`, frame, { resend: false, channelId, timeoutMs: options.timeoutMs })
  }

  /** The last `limit` messages of a channel (default 50, at most 1000), oldest first. Members only. */
  async getHistory(options: HistoryOptions): Promise<ChatHistory> {
    if (options.channelId === undefined && options.serviceId === undefined) throw new TypeError('getHistory: name a channelId or a serviceId')
    const requestId = randomUUID()
    const frame = {
      type: 'chat_history',
      request_id: requestId,
      ...(options.channelId !== undefined ? { channel_id: options.channelId } : {}),
      ...(options.serviceId !== undefined ? { service_id: options.serviceId } : {}),
      ...(options.targetAgent !== undefined ? { target_agent: options.targetAgent } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    }
    const reply = await this.#request<WireFrame>(`history:${requestId}`, frame, { resend: true, requestId, timeoutMs: options.timeoutMs })
    return {
      channelId: reply.channel_id,
      messages: (reply.messages as WireFrame[]).map(toMessage),
      total: reply.total,
      truncated: reply.truncated === true,
    }
  }

  /**
   * Calls `callback` with every event the hub pushes (messages, chat requests, accepts, rejects,
   * ends, unanswered errors), one at a time and in order: an async callback is awaited before
   * the next event. Returns the function that stops it.
   */
  listenForMessages(callback: HubListener): () => void {
    this.#listeners.add(callback)
    this.#drainBacklog()
    return () => {
      this.#listeners.delete(callback)
    }
  }

  /**
   * Every event the hub pushes, for `for await` (filter on `event.type`; `chat_message` is a
   * message). Survives reconnects; ends on disconnect() or when the connection ends for good.
   * Events that came before anyone listened are kept (up to 10,000) for the first listener.
   */
  messages(): AsyncIterableIterator<HubEvent> {
    const queue = new EventQueue((done) => this.#iterators.delete(done))
    if (this.#ended) {
      queue.end()
      return queue
    }
    this.#iterators.add(queue)
    this.#drainBacklog()
    return queue
  }

  async #openSocket(): Promise<void> {
    const ws = new WebSocket(this.hubUrl, { handshakeTimeout: this.#timeoutMs, headers: { 'user-agent': 'nexus-chat-client/0.1' } })
    this.#ws = ws
    this.#open = false
    ws.on('message', (data) => this.#onData(ws, data.toString()))
    ws.on('ping', () => {
      this.#lastHeard = Date.now()
    })
    // 'close' always follows an 'error', and tells everything that matters.
    ws.on('error', () => {})
    ws.on('close', (code, reason) => this.#onClose(ws, code, reason.toString()))
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => fail(new ChatHubError('timeout', `No answer from the hub within ${this.#timeoutMs} ms.`)), this.#timeoutMs)
        const fail = (err: Error) => {
          clearTimeout(timer)
          this.#handshake = undefined
          reject(err)
        }
        this.#handshake = {
          ws,
          resolve: () => {
            clearTimeout(timer)
            this.#handshake = undefined
            resolve()
          },
          reject: fail,
        }
        ws.once('open', () => ws.send(JSON.stringify(this.#connectFrame())))
      })
    } catch (err) {
      ws.terminate()
      throw err
    }
  }

  #connectFrame(): WireFrame {
    return {
      type: 'connect',
      agent_id: this.agentId,
      client_type: this.#clientType,
      ...(this.#apiKey !== undefined ? { api_key: this.#apiKey } : {}),
      ...(this.#cursors.size > 0 ? { cursors: Object.fromEntries([...this.#cursors].map(([channel, cursor]) => [channel, String(cursor)])) } : {}),
    }
  }

  #onConnected(ws: WebSocket, frame: WireFrame): void {
    if (typeof frame.agent_key === 'string') this.#keepKey(frame.agent_key)
    this.#clientId = frame.client_id
    this.#open = true
    this.#retrying = false
    this.#attempt = 0
    this.#lastHeard = Date.now()
    clearInterval(this.#heartbeat)
    this.#heartbeat = setInterval(() => this.#beat(ws), this.#heartbeatMs)
    this.#heartbeat.unref()
    // A hub that restarted has forgotten the services: say them again, then what waited.
    for (const register of this.#services.values()) ws.send(JSON.stringify(register))
    for (const frame of this.#queue.splice(0)) ws.send(JSON.stringify(frame))
    for (const pending of this.#pending.values()) {
      if (pending.sentOn === undefined || (pending.resend && pending.sentOn !== ws)) this.#transmit(pending)
    }
    this.#handshake?.resolve()
  }

  /** The hub made this agent's identity and showed its key this once: keep it for every later connect. */
  #keepKey(key: string): void {
    this.#apiKey = key
    try {
      this.#keyFile?.write(key)
    } catch (err) {
      this.#onListenerError(new Error(`ChatClient could not keep the agent key in ${this.#keyFile?.path}: ${(err as Error).message}`))
    }
  }

  #beat(ws: WebSocket): void {
    if (ws !== this.#ws) return
    if (Date.now() - this.#lastHeard > 2 * this.#heartbeatMs) {
      ws.terminate()
      return
    }
    ws.send(JSON.stringify({ type: 'ping' }))
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return
    const wasOpen = this.#open
    this.#open = false
    this.#ws = undefined
    clearInterval(this.#heartbeat)
    if (this.#handshake?.ws === ws) {
      this.#handshake.reject(new ChatHubError('connection_failed', `The connection closed before the hub said connected (${code}${reason ? ` ${reason}` : ''}).`))
    }
    if (this.#stopped) return
    const final = code === CLOSE_REPLACED || code === CLOSE_INVALID_API_KEY
    if ((wasOpen || this.#retrying) && this.#reconnect && !final) {
      this.#retrying = true
      this.#scheduleReconnect()
    } else if (wasOpen || this.#retrying) {
      this.#finish(code === CLOSE_REPLACED ? 'another connection took over this agent id' : code === CLOSE_INVALID_API_KEY ? 'the hub refused the agent key' : 'the connection closed')
    }
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => {
      if (this.#stopped) return
      // A failed attempt closes its socket, and #onClose schedules the next one.
      this.#opening ??= this.#openSocket()
        .catch(() => {})
        .finally(() => {
          this.#opening = undefined
        })
    }, backoffDelay(this.#attempt++, this.#backoff))
  }

  /** Ends for good: no reconnect, waiting calls rejected, iterators ended. */
  #finish(why: string): void {
    this.#stopped = true
    this.#ended = true
    this.#retrying = false
    this.#open = false
    clearTimeout(this.#reconnectTimer)
    clearInterval(this.#heartbeat)
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(new ChatHubError('disconnected', `Disconnected: ${why}.`, pending.requestId))
    }
    this.#pending.clear()
    this.#queue.length = 0
    for (const queue of this.#iterators) queue.end()
    this.#iterators.clear()
  }

  #request<T>(key: string, frame: WireFrame, options: { resend: boolean; requestId?: string | undefined; channelId?: string; timeoutMs?: number | undefined; onTimeout?: () => T }): Promise<T> {
    if (this.#stopped) return Promise.reject(new ChatHubError('not_connected', 'Call connect() first.'))
    if (this.#pending.has(key)) return Promise.reject(new ChatHubError('invalid_request', `Already waiting for an answer to this ${frame.type}.`))
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        frameType: frame.type,
        requestId: options.requestId,
        channelId: options.channelId,
        frame,
        resend: options.resend,
        sentOn: undefined,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(key)
          if (options.onTimeout) resolve(options.onTimeout())
          else reject(new ChatHubError('timeout', `No answer to ${frame.type} within ${timeoutMs} ms.`, options.requestId))
        }, timeoutMs),
      }
      this.#pending.set(key, pending)
      this.#transmit(pending)
    })
  }

  #transmit(pending: Pending): void {
    const ws = this.#ws
    if (!this.#open || !ws) return
    ws.send(JSON.stringify(pending.frame))
    pending.sentOn = ws
  }

  #post(frame: WireFrame): void {
    if (this.#stopped) throw new ChatHubError('not_connected', 'Call connect() first.')
    if (this.#open && this.#ws) this.#ws.send(JSON.stringify(frame))
    else this.#queue.push(frame)
  }

  #settle(key: string, value: unknown): boolean {
    const pending = this.#pending.get(key)
    if (!pending) return false
    this.#pending.delete(key)
    clearTimeout(pending.timer)
    pending.resolve(value)
    return true
  }

  #onData(ws: WebSocket, data: string): void {
    if (ws !== this.#ws) return
    this.#lastHeard = Date.now()
    let frame: WireFrame
    try {
      frame = JSON.parse(data)
    } catch {
      return
    }
    if (frame === null || typeof frame !== 'object' || typeof frame.type !== 'string') return
    switch (frame.type) {
      case 'connected':
        return this.#onConnected(ws, frame)
      case 'pong':
        return
      case 'registered':
        this.#settle(`register:${frame.service_id}`, undefined)
        return
      case 'chat_message_ack':
        this.#settle(`ack:${frame.message_id}`, frame)
        return
      case 'chat_history_response':
        this.#settle(`history:${frame.request_id}`, frame)
        return
      case 'chat_message': {
        const cursor = Number(frame.cursor)
        if (cursor <= (this.#cursors.get(frame.channel_id) ?? -1)) return
        this.#cursors.set(frame.channel_id, cursor)
        return this.#emit(toMessage(frame))
      }
      case 'chat_request':
        this.#requestsFrom.set(frame.consumer_id, frame.request_id)
        return this.#emit({ type: 'chat_request', requestId: frame.request_id, consumerId: frame.consumer_id, serviceId: frame.service_id, message: frame.message ?? '' })
      case 'chat_accept': {
        const event: ChatAcceptEvent = {
          type: 'chat_accept',
          requestId: frame.request_id,
          channelId: frame.channel_id,
          providerId: frame.provider_id,
          consumerId: frame.consumer_id,
          serviceId: frame.service_id,
        }
        this.#settle(`request:${event.requestId}`, { status: 'accepted', requestId: event.requestId, channelId: event.channelId, providerId: event.providerId, serviceId: event.serviceId })
        if (!this.#settle(`accept:${event.consumerId}:${event.requestId}`, event)) this.#settle(`accept:${event.consumerId}:`, event)
        return this.#emit(event)
      }
      case 'chat_reject':
        this.#settle(`request:${frame.request_id}`, { status: 'rejected', requestId: frame.request_id, reason: frame.reason })
        return this.#emit({ type: 'chat_reject', requestId: frame.request_id, serviceId: frame.service_id, ...(frame.provider_id ? { providerId: frame.provider_id } : {}), reason: frame.reason })
      case 'chat_end': {
        const event: ChatEndEvent = { type: 'chat_end', channelId: frame.channel_id, endedBy: frame.ended_by, reason: frame.reason }
        this.#settle(`end:${event.channelId}`, event)
        return this.#emit(event)
      }
      case 'error':
        return this.#onError(frame)
    }
  }

  /** An error answers the oldest request it can be matched to (by frame type, then request id or channel); else it is an event. */
  #onError(frame: WireFrame): void {
    const err = new ChatHubError(String(frame.error_code), String(frame.message), frame.request_id)
    if (this.#handshake && (frame.frame === 'connect' || frame.frame === undefined)) {
      this.#handshake.reject(err)
      return
    }
    for (const [key, pending] of this.#pending) {
      if (frame.frame !== undefined && pending.frameType !== frame.frame) continue
      if (frame.frame === undefined && frame.request_id === undefined) break
      const same = frame.request_id !== undefined ? pending.requestId === frame.request_id
        : frame.channel_id !== undefined ? pending.channelId === frame.channel_id
        : true
      if (!same) continue
      this.#pending.delete(key)
      clearTimeout(pending.timer)
      pending.reject(err)
      return
    }
    this.#emit({
      type: 'error',
      code: err.code,
      message: err.message,
      ...(frame.request_id !== undefined ? { requestId: frame.request_id } : {}),
      ...(frame.frame !== undefined ? { frame: frame.frame } : {}),
    })
  }

  #emit(event: HubEvent): void {
    if (this.#listeners.size === 0 && this.#iterators.size === 0) {
      this.#backlog.push(event)
      if (this.#backlog.length > MAX_BACKLOG) this.#backlog.shift()
      return
    }
    this.#deliver(event)
  }

  #deliver(event: HubEvent): void {
    for (const queue of this.#iterators) queue.push(event)
    if (this.#listeners.size === 0) return
    const listeners = [...this.#listeners]
    this.#dispatch = this.#dispatch.then(async () => {
      for (const listener of listeners) {
        try {
          await listener(event)
        } catch (err) {
          this.#onListenerError(err)
        }
      }
    })
  }

  #drainBacklog(): void {
    for (const event of this.#backlog.splice(0)) this.#deliver(event)
  }
}

function toMessage(frame: WireFrame): ChatMessage {
  return {
    type: 'chat_message',
    messageId: frame.message_id,
    channelId: frame.channel_id,
    ...(frame.service_id !== undefined ? { serviceId: frame.service_id } : {}),
    senderId: frame.sender_id,
    content: frame.content,
    ...(frame.json !== undefined ? { json: frame.json } : {}),
    timestamp: frame.timestamp,
    cursor: frame.cursor,
    verified: frame.verified,
    redactions: frame.redactions ?? [],
  }
}

/**
 * Connects as `agentId`, sends `content` to the agent `target` (a direct channel, made on first
 * use, or their open chat), waits for the ack, and disconnects.
 */
export async function quickSend(
  hubUrl: string,
  agentId: string,
  target: string,
  content: string | JsonValue,
  options: Pick<ChatClientOptions, 'apiKey' | 'keyDir' | 'timeoutMs'> = {},
): Promise<MessageAck> {
  const client = new ChatClient({ hubUrl, agentId, reconnect: false, ...options })
  await client.connect()
  try {
    return await client.sendMessage(target, content)
  } finally {
    await client.disconnect()
  }
}

export { ChatHubError } from './chat-types.js'
export type * from './chat-types.js'
