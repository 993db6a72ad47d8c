import type { BackoffPolicy } from './backoff.js'
import type { JsonValue } from './types.js'

/**
 * The shapes of the chat hub's client (references/hub.md), in camelCase. The hub's frames are
 * snake_case on the wire; the client translates.
 */

export interface ChatClientOptions {
  /** The hub; default `ws://localhost:8765` (the server's own port; `/v1/hub` works too). */
  hubUrl?: string
  /** The agent this client speaks for: 1–128 of `A-Z a-z 0-9 _ -`. */
  agentId: string
  /**
   * The agent's key on this hub, shown in every `connect` (references/hub.md, "Identity"). When
   * absent, the key kept in the key file is used; an id's first connect is handed a key, which
   * the client keeps (in memory, and in the key file) for every later connect.
   */
  apiKey?: string
  /**
   * Where agent keys are kept between runs: a directory (one 0600 file per hub and agent id under
   * it), or false to keep the key in memory only. Default
   * `${XDG_CONFIG_HOME:-$HOME/.config}/messaging/hub-keys`, beside nexus.sh's state.
   */
  keyDir?: string | false
  /** Told to the hub in `connect`; default `nexus-ts`. */
  clientType?: string
  /** Reconnect by itself after a dropped connection, resuming where it was; default true. */
  reconnect?: boolean
  /** Backoff between reconnects; default 250 ms doubling up to 15 s, with jitter. */
  backoff?: Partial<BackoffPolicy>
  /** Bound on opening the connection and on each reply awaited (ack, history, accept…); default 10000. */
  timeoutMs?: number
  /** A `ping` this often; a connection silent for two of these is dropped and reopened; default 15000. */
  heartbeatMs?: number
  /** Told when a listener throws; default `console.error`. */
  onListenerError?: (err: unknown) => void
}

/** A message in a channel, as delivered (and as listed by `getHistory`). */
export interface ChatMessage {
  type: 'chat_message'
  /** The id the server gave the message (`msg_…`). */
  messageId: string
  channelId: string
  serviceId?: string
  senderId: string
  /** The text, or the JSON value when the message was sent as an object or array. */
  content: string | JsonValue
  /** Only when a message (sent over HTTP) has both text and JSON. */
  json?: JsonValue
  timestamp: string
  /** The message's place in the channel: a decimal string, increasing with no gaps. */
  cursor: string
  verified: boolean
  redactions: string[]
}

/** A consumer asks this provider for a chat (answer with `acceptChat` or `rejectChat`). */
export interface ChatRequestEvent {
  type: 'chat_request'
  requestId: string
  consumerId: string
  serviceId: string
  message: string
}

export interface ChatAcceptEvent {
  type: 'chat_accept'
  requestId: string
  channelId: string
  providerId: string
  consumerId: string
  serviceId: string
}

export interface ChatRejectEvent {
  type: 'chat_reject'
  requestId: string
  serviceId: string
  providerId?: string
  reason: string
}

export interface ChatEndEvent {
  type: 'chat_end'
  channelId: string
  /** The agent that ended it, or `system` (the channel expired, or you are no longer a member). */
  endedBy: string
  reason: string
}

/** An `error` frame that answers nothing this client is waiting for. */
export interface HubErrorEvent {
  type: 'error'
  code: string
  message: string
  requestId?: string
  frame?: string
}

/** Everything the hub pushes: what `messages()` yields and `listenForMessages` is called with. */
export type HubEvent = ChatMessage | ChatRequestEvent | ChatAcceptEvent | ChatRejectEvent | ChatEndEvent | HubErrorEvent

export type HubListener = (event: HubEvent) => void | Promise<void>

/** `sendMessage`'s answer: where the message went and whether someone online got it. */
export interface MessageAck {
  /** The id the message was sent with (given, or made by the client). */
  messageId: string
  /** The id the server stored it under (`msg_…`). */
  id: string
  channelId: string
  cursor: string
  /** `delivered`: another member's live connection got it; `queued`: stored, members get it when they connect or poll. */
  status: 'delivered' | 'queued'
  verified: boolean
  redactions: string[]
}

export type ChatRequestResult =
  | { status: 'accepted'; requestId: string; channelId: string; providerId: string; serviceId: string }
  | { status: 'rejected'; requestId: string; reason: string }
  | { status: 'timeout'; requestId: string }

export interface ChatHistory {
  channelId: string
  /** Oldest first: the last `limit` of the channel. */
  messages: ChatMessage[]
  /** Messages the channel holds. */
  total: number
  /** True when the reply left older messages out to stay under the hub's size cap. */
  truncated: boolean
}

export interface SendMessageOptions {
  serviceId?: string
  channelId?: string
  /** Default: a fresh UUID. Sending again with the same id (as the client does after a reconnect) stores nothing twice. */
  messageId?: string
  timeoutMs?: number
}

export interface HistoryOptions {
  channelId?: string
  serviceId?: string
  /** With `serviceId`, a provider names the consumer whose channel it means. */
  targetAgent?: string
  /** 1 … 1000; default 50. */
  limit?: number
  timeoutMs?: number
}

/**
 * The hub said no (`code` is its `error_code`: a catalogue code such as `session_not_found`,
 * or `service_not_found`, `provider_offline`, `channel_ended`), or the client gave up:
 * `timeout`, `disconnected` (disconnect() or the connection ended for good), `connection_failed`.
 */
export class ChatHubError extends Error {
  override name = 'ChatHubError'
  readonly code: string
  readonly requestId: string | undefined

  constructor(code: string, message: string, requestId?: string) {
    super(message)
    this.code = code
    this.requestId = requestId
  }
}
