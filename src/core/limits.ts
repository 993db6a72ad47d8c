/** The limits the core enforces, taken from the configuration once at start. */
export interface CoreLimits {
  maxTtlSeconds: number
  maxAgents: number
  /** 0 switches inactivity removal off. */
  agentInactivitySeconds: number
  pairCodeTtlSeconds: number
  /** Pending pairing codes one session may hold at once. */
  maxPendingCodes: number
  /** Failed pairing-code lookups one address may make per window before it is refused (429). */
  pairFailuresMax: number
  pairFailuresWindowSeconds: number
  maxMessageBytes: number
  maxMessagesPerSession: number
  maxSessions: number
  /** A page (a poll, an SSE replay, a hub history) stops adding messages past this many bytes. */
  maxPageBytes: number
  /** Bytes of messages one session holds; the oldest are dropped beyond it (with `gap`). */
  maxSessionBytes: number
  /** Bytes of messages the whole store holds; a send beyond it is refused (503 capacity_exceeded). */
  maxStoreBytes: number
}

export const MIN_TTL_SECONDS = 60
export const DEFAULT_TTL_SECONDS = 3660
export const MIN_AGENTS = 2
export const DEFAULT_MAX_AGENTS = 50
export const MAX_PAGE = 1000
/** Levels of arrays and objects a message's `json` may nest (`[]` is one). */
export const MAX_JSON_DEPTH = 32
/** Values (containers and scalars) a message's `json` may hold. */
export const MAX_JSON_NODES = 10_000
/**
 * What each JSON value is charged beyond its text when a message's size is counted against the
 * page, session and store budgets: a value held in memory costs about 40 bytes however short its
 * text (measured: bench/budgets.ts), so `[[],[],...]` is charged near what it really holds.
 */
export const JSON_NODE_BYTES = 32
/** The longest a long-poll may wait. */
export const MAX_WAIT_SECONDS = 60
/** Spent and expired pairing codes are remembered this long, so their status can be told. */
export const CODE_MEMORY_MS = 60 * 60 * 1000
/** How long a client is asked to wait before retrying when the server is at capacity. */
export const CAPACITY_RETRY_SECONDS = 30
