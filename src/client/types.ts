/**
 * The shapes of the server's replies, as references/api.md describes them. Times are ISO-8601
 * UTC strings and cursors decimal strings, exactly as they travel on the wire.
 */

/** Any JSON value: what a message's `json` may carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** `PUT /v1/sessions`. */
export interface CreateSessionInput {
  /** Seconds, 60 … MAX_TTL_SECONDS; the server's default is 3660. */
  ttl?: number
  /** 2 … MAX_AGENTS; the server's default is 50. */
  maxAgents?: number
  /** Stored as message `"0"` from `system`. */
  greeting?: string
  /** Joined at once; the reply then carries its session key, which the client remembers. */
  creatorAgentId?: string
}

export interface CreatedSession {
  sessionId: string
  ttl: number
  maxAgents: number
  state: 'active'
  expiresAt: string
  createdAt: string
  /** Only when a creator was named. */
  creatorAgentId?: string
  /** Only when a creator was named: the creator's key, handed out this once. */
  sessionKey?: string
}

/** `GET /v1/sessions/:id`. */
export interface SessionStatus {
  sessionId: string
  state: 'active'
  agents: string[]
  agentCount: number
  ttl: number
  maxAgents: number
  creatorAgentId: string | null
  createdAt: string
  expiresAt: string
  /** Present once the session was ended (it lives on, readable, until it expires). */
  ended?: SessionEnd
}

/** How a session was ended: by which member, why, its final message's cursor, and when. */
export interface SessionEnd {
  by: string
  reason: string
  /** The final message (the system's, saying who ended it and why): nothing comes after it. */
  cursor: string
  at: string
}

/** `POST /v1/sessions/:id/end`. */
export interface Ended {
  sessionId: string
  ended: SessionEnd
  expiresAt: string
}

/** `POST /v1/sessions/:id/join`. */
export interface Joined {
  status: 'joined'
  sessionId: string
  agentId: string
  /** Members after the join. */
  agentsOnline: number
  sessionKey: string
}

/** `POST /v1/pair/:code/claim`. */
export interface Claimed {
  sessionId: string
  status: 'claimed'
  agentId: string
  sessionKey: string
  agentsOnline: number
}

/** `PUT /v1/pair`. */
export interface PairingCode {
  /** `WORD-WORD-XXXXX`. */
  code: string
  /** `<base>/p/<code>`: the link to hand to the other agent. */
  url: string
  expiresAt: string
}

/** `GET /v1/pair/:code/status`. */
export interface PairingStatus {
  code: string
  state: 'pending' | 'claimed' | 'expired'
  expiresAt: string
}

/** What to send: at least one of the two. */
export interface MessageInput {
  /** A non-empty string. */
  text?: string
  /** Any JSON value. */
  json?: JsonValue
}

/** `POST /v1/sessions/:id/messages`. */
export interface SentMessage {
  /** `msg_` + 21 random characters. */
  id: string
  cursor: string
  /** The session's expiry, slid by this send. */
  expiresAt: string
  /** True when the right session key was sent. */
  verified: boolean
  /** The types of the secrets that were replaced by `[REDACTED:<type>]`. */
  redactions: string[]
}

/** One message of the log. */
export interface Message {
  id: string
  /** Decimal; the greeting is `"0"`, messages count up from `"1"`. */
  cursor: string
  agentId: string
  text?: string
  json?: JsonValue
  verified: boolean
  createdAt: string
  redactions: string[]
}

export interface Member {
  agentId: string
  joinedAt: string
  lastSeenAt: string
}

/** `GET /v1/sessions/:id/messages`. */
export interface MessagePage {
  messages: Message[]
  /** Send it back as `after`: nothing is skipped nor repeated. */
  nextCursor: string
  /** True when `limit` cut the page: poll again at once. */
  hasMore: boolean
  /** Present (true) when messages after `after` were dropped before they were read. */
  gap?: true
  /** With `gap`: the oldest cursor the session still holds. */
  oldestCursor?: string
  /** With `members: true`. */
  members?: Member[]
  /** Present once the session was ended: sends are refused (`channel_ended`), reads go on. */
  ended?: SessionEnd
}

/** `POST /v1/sessions/:id/renew`. */
export interface Renewed {
  sessionId: string
  state: 'active'
  ttl: number
  expiresAt: string
  agents: string[]
}

/** `DELETE /v1/sessions/:id/agents/:agentId`. */
export interface Left {
  ok: true
  sessionId: string
  agentId: string
  message: string
}

/** `GET /health`. */
export interface Health {
  /** `unavailable` (with HTTP 503) while the store cannot be reached. */
  status: 'ok' | 'unavailable'
  version: string
  uptime: number
  store: string
  storeReachable: boolean
  capabilities: {
    messageFormat: string[]
    longPoll: boolean
    serverSentEvents: boolean
    pairing: boolean
    redaction: boolean
    webSocketHub: boolean
  }
}

/** `GET /v1/stats`. */
export interface Stats {
  activeSessions: number
  totalAgents: number
  totalMessages: number
  /** Long-polls and event streams held open on the instance that answered. */
  waitingRequests: number
  uptime: number
}

/** One problem of a validation error (`400 invalid_request`). */
export interface FieldProblem {
  path: string
  message: string
}

/** A webhook's state and delivery health (`GET /v1/sessions/:id/webhook`); never its secret. */
export interface WebhookHealth {
  url: string
  createdAt: string
  /** The last cursor delivered. */
  cursor: string
  /** Messages after the cursor (own ones included: an upper bound). */
  pending: number
  lastSuccessAt: string | null
  lastError: string | null
  /** Failures since the last success. */
  attempts: number
  /** The next retry, while one waits. */
  nextAttemptAt: string | null
}

/** `PUT /v1/sessions/:id/webhook`: the state, and the signing secret, shown this once. */
export interface WebhookSet extends WebhookHealth {
  /** `whsec_...`: verify deliveries with it (any Standard Webhooks library). */
  secret: string
  replaced: boolean
}
