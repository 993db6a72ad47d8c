import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { z } from 'zod'
import { type IdentityRules, parseIdentityLines } from './core/identities.js'
import type { CoreLimits } from './core/limits.js'
import { type CustomPattern, parseCustomPatterns } from './core/redact/index.js'

/**
 * The configuration, read from the environment once at start. A bad value stops the start with
 * one line naming the variable; nothing else in the code reads process.env.
 */

const integer = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((value) => value ?? fallback)

/**
 * TRUST_PROXY as fastify takes it: true/false, a number of hops, or addresses/CIDRs separated by
 * commas. It decides whose IP the rate limit counts and which host pairing links name.
 */
const trustProxy = z
  .string()
  .trim()
  .optional()
  .transform((value): boolean | number | string[] => {
    if (value === undefined || value === '' || value === 'false' || value === '0') return false
    if (value === 'true') return true
    if (/^\d+$/.test(value)) return Number(value)
    return value.split(',').map((part) => part.trim()).filter(Boolean)
  })

const publicUrl = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value))
  .pipe(
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://nexus.example.com' })
      .transform((value) => value.replace(/\/+$/, ''))
      .optional(),
  )

/**
 * REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster, `host:port` separated by commas. Unset or
 * empty: no Cluster (REDIS_URL is used).
 */
const clusterNodes = z
  .string()
  .optional()
  .transform((value, ctx): { host: string; port: number }[] | undefined => {
    if (value === undefined || value.trim() === '') return undefined
    const nodes: { host: string; port: number }[] = []
    for (const part of value.split(',')) {
      const match = /^\s*(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})\s*$/.exec(part)
      const port = match ? Number(match[2]) : 0
      if (!match || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: `must be host:port seed nodes separated by commas, such as 10.0.0.1:7000,10.0.0.2:7000 (${JSON.stringify(part.trim())} is not)` })
        return z.NEVER
      }
      nodes.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port })
    }
    return nodes
  })

/**
 * WEBHOOK_ALLOW_PRIVATE: which refused address ranges webhooks may reach anyway, for internal
 * deployments and tests: false (none, the default), true (all), or CIDRs separated by commas.
 */
const webhookAllowPrivate = z
  .string()
  .trim()
  .optional()
  .transform((value, ctx): boolean | string[] => {
    if (value === undefined || value === '' || value === 'false' || value === '0') return false
    if (value === 'true' || value === '1') return true
    const ranges = value.split(',').map((part) => part.trim()).filter(Boolean)
    for (const range of ranges) {
      if (!isCidr(range)) {
        ctx.addIssue({ code: 'custom', message: `must be true, false or CIDRs separated by commas, such as 10.0.0.0/8,fd00::/8 (${JSON.stringify(range)} is not)` })
        return z.NEVER
      }
    }
    return ranges
  })

function isCidr(range: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(range)
  if (!match) return false
  const family = isIP(match[1]!)
  const bits = Number(match[2])
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128)
}

const envSchema = z.object({
  PORT: integer(8765, 0, 65535),
  HOST: z.string().trim().min(1).optional().transform((value) => value ?? '127.0.0.1'),
  PUBLIC_URL: publicUrl,
  TRUST_PROXY: trustProxy,
  MAX_TTL_SECONDS: integer(86400, 60),
  MAX_AGENTS: integer(50, 2),
  AGENT_INACTIVITY_SECONDS: integer(0, 0),
  PAIR_CODE_TTL_SECONDS: integer(600, 10),
  MAX_CODES_PER_SESSION: integer(10, 1),
  PAIR_FAILURES_MAX: integer(10, 1),
  PAIR_FAILURES_WINDOW_SECONDS: integer(600, 1),
  RATE_LIMIT_MAX: integer(100, 1),
  RATE_LIMIT_WINDOW_SECONDS: integer(60, 1),
  MAX_MESSAGE_BYTES: integer(65536, 16, 16 * 1024 * 1024),
  MAX_MESSAGES_PER_SESSION: integer(10000, 1),
  MAX_SESSIONS: integer(100000, 1),
  REQUIRE_KEY_FOR_READS: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((value) => value === 'true' || value === '1'),
  MAX_PAGE_BYTES: integer(1024 * 1024, 1024),
  MAX_SESSION_BYTES: integer(16 * 1024 * 1024, 1024),
  MAX_STORE_BYTES: integer(256 * 1024 * 1024, 1024),
  SLOW_READER_SECONDS: integer(30, 1),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .transform((value) => value ?? 'info'),
  REDACTION_PATTERNS: z.string().optional(),
  SWEEP_INTERVAL_SECONDS: integer(10, 1),
  MAX_WAITERS: integer(10000, 1),
  MAX_WAITERS_PER_IP: integer(100, 1),
  SSE_KEEPALIVE_SECONDS: integer(15, 1),
  REQUEST_TIMEOUT_SECONDS: integer(30, 1, 300),
  MAX_CONNECTIONS_PER_IP: integer(256, 0),
  HUB_MAX_FRAME_BYTES: integer(262144, 1024, 64 * 1024 * 1024),
  HUB_FRAMES_PER_SECOND: integer(100, 1),
  HUB_PING_SECONDS: integer(30, 1),
  HUB_MAX_BUFFERED_BYTES: integer(8 * 1024 * 1024, 1024),
  HUB_MAX_CONNECTIONS: integer(10000, 1),
  HUB_MAX_CONNECTIONS_PER_IP: integer(100, 1),
  HUB_CONNECT_TIMEOUT_SECONDS: integer(5, 1, 3600),
  HUB_SERVICE_TTL_SECONDS: integer(300, 1),
  HUB_OPEN_REGISTRATION: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((value) => value !== 'false' && value !== '0'),
  HUB_IDENTITIES: z.string().trim().optional().transform((value) => (value === '' ? undefined : value)),
  HUB_IDENTITY_TTL_DAYS: integer(30, 1, 36500),
  WEBHOOK_ALLOW_PRIVATE: webhookAllowPrivate,
  WEBHOOK_TIMEOUT_SECONDS: integer(10, 1, 120),
  WEBHOOK_MAX_PER_SESSION: integer(10, 1),
  WEBHOOK_MAX_PER_HOST: integer(4, 1),
  WEBHOOK_MAX_OUTSTANDING: integer(100, 1),
  WEBHOOK_RETRY_BASE_MS: integer(1000, 1),
  WEBHOOK_RETRY_MAX_SECONDS: integer(300, 1),
  STORE: z.enum(['sqlite', 'memory', 'redis']).optional().transform((value) => value ?? 'sqlite'),
  DATA_DIR: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? './data' : value)),
  SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).optional().transform((value) => value ?? 'normal'),
  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? 'redis://127.0.0.1:6379' : value))
    .pipe(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })),
  REDIS_CLUSTER_NODES: clusterNodes,
  METRICS_TOKEN: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
    .pipe(z.string().min(16, 'must be at least 16 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional()),
  METRICS_PORT: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(65535)).optional()),
  REDIS_PREFIX: z
    .string()
    .optional()
    .transform((value) => value ?? 'nexus:')
    .pipe(z.string().max(64).regex(/^[^{}\s]*$/, 'must not hold braces or spaces (keys carry a {hash tag})')),
})

export interface Config {
  port: number
  host: string
  publicUrl: string | undefined
  trustProxy: boolean | number | string[]
  rateLimit: { max: number; windowSeconds: number }
  limits: CoreLimits
  logLevel: string
  /** Poll, long-poll, streams, the hub's reads and renew need the reader's session key too (REQUIRE_KEY_FOR_READS). */
  requireKeyForReads: boolean
  /** Operator-supplied redaction patterns (see references/redaction.md). */
  redactionPatterns: CustomPattern[]
  sweepIntervalSeconds: number
  /** Long-polls and streams held open at once, overall and per client address. */
  waiters: { maxTotal: number; maxPerAddress: number }
  /**
   * A long-poll reply or event stream whose client leaves its bytes unread this long is cut:
   * a reader that does not read must not hold the server's memory.
   */
  slowReaderSeconds: number
  /** A comment line on every event stream this often, so proxies keep it open. */
  sseKeepAliveSeconds: number
  /**
   * The HTTP server's own bounds: headers and body must arrive within `requestTimeoutMs`; one
   * address holds at most `maxConnectionsPerAddress` connections (0: no cap).
   */
  http: { requestTimeoutMs: number; maxConnectionsPerAddress: number }
  /** The WebSocket hub's limits, per connection unless said otherwise (see references/hub.md). */
  hub: {
    /** A frame larger than this gets `payload_too_large` (the socket itself refuses four times as much). */
    maxFrameBytes: number
    framesPerSecond: number
    /** Sockets are pinged this often; one that has not answered by the next ping is dropped. */
    pingSeconds: number
    /** A socket holding more than this unread is cut off. */
    maxBufferedBytes: number
    maxConnections: number
    /** Sockets held at once from one client address (as the rate limit counts it, TRUST_PROXY honoured). */
    maxConnectionsPerAddress: number
    /** A socket that has not said `connect` within this long is closed (with 4408). */
    connectTimeoutSeconds: number
    /** A service (and the requests waiting for it) is forgotten once its provider has been gone this long. */
    serviceTtlSeconds: number
  }
  /** Who may wear a hub agent id (references/hub.md, "Identity"). */
  hubIdentities: IdentityRules
  /** Webhook delivery (references/api.md, "Webhooks"). */
  webhooks: {
    /** Refused ranges webhooks may reach anyway: none (false), all (true), or these CIDRs. */
    allowPrivate: boolean | string[]
    /** One delivery's whole call (connect, send, reply) must finish within this. */
    timeoutMs: number
    maxPerSession: number
    /** Deliveries in flight to one host at once. */
    maxPerHost: number
    /** Deliveries in flight from this instance at once. */
    maxOutstanding: number
    /** The first retry waits about this long; each next one twice as long, up to retryMaxMs. */
    retryBaseMs: number
    retryMaxMs: number
  }
  /**
   * GET /metrics (references/operations.md): behind `Authorization: Bearer <token>` when a token
   * is set; on a port of its own when `port` is set, and then not on the API's port.
   */
  metrics: { token: string | undefined; port: number | undefined }
  /** Where state lives: a SQLite file (the default), this process's memory, or a Redis shared by many instances. */
  store: {
    kind: 'sqlite' | 'memory' | 'redis'
    /** The directory of the SQLite file (DATA_DIR/nexus.db). */
    dataDir: string
    /** normal: survives the process dying; full: survives power loss too (see references/scaling.md). */
    sqliteSynchronous: 'normal' | 'full'
    redisUrl: string
    redisPrefix: string
    /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when present, REDIS_URL is unused. */
    redisClusterNodes?: { host: string; port: number }[]
  }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function loadConfig(env: Record<string, string | undefined> = {}): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const variable = String(issue.path[0] ?? 'environment')
    throw new ConfigError(`${variable}=${JSON.stringify(env[variable] ?? '')} is not valid: ${issue.message}`)
  }
  const e = parsed.data
  // A session must hold at least its largest message, and the store at least one full session.
  if (e.MAX_SESSION_BYTES < e.MAX_MESSAGE_BYTES) {
    throw new ConfigError(`MAX_SESSION_BYTES=${e.MAX_SESSION_BYTES} is not valid: must be at least MAX_MESSAGE_BYTES (${e.MAX_MESSAGE_BYTES})`)
  }
  if (e.MAX_STORE_BYTES < e.MAX_SESSION_BYTES) {
    throw new ConfigError(`MAX_STORE_BYTES=${e.MAX_STORE_BYTES} is not valid: must be at least MAX_SESSION_BYTES (${e.MAX_SESSION_BYTES})`)
  }
  let redactionPatterns: CustomPattern[] = []
  if (e.REDACTION_PATTERNS !== undefined && e.REDACTION_PATTERNS.trim() !== '') {
    try {
      redactionPatterns = parseCustomPatterns(e.REDACTION_PATTERNS)
    } catch (err) {
      throw new ConfigError(`REDACTION_PATTERNS is not valid: ${(err as Error).message}`)
    }
  }
  let provisioned = new Map<string, string>()
  if (e.HUB_IDENTITIES !== undefined) {
    let text: string
    try {
      text = readFileSync(e.HUB_IDENTITIES, 'utf8')
    } catch (err) {
      throw new ConfigError(`HUB_IDENTITIES=${JSON.stringify(e.HUB_IDENTITIES)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    try {
      provisioned = parseIdentityLines(text)
    } catch (err) {
      throw new ConfigError(`HUB_IDENTITIES=${JSON.stringify(e.HUB_IDENTITIES)} is not valid: ${(err as Error).message}`)
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    trustProxy: e.TRUST_PROXY,
    rateLimit: { max: e.RATE_LIMIT_MAX, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS },
    limits: {
      maxTtlSeconds: e.MAX_TTL_SECONDS,
      maxAgents: e.MAX_AGENTS,
      agentInactivitySeconds: e.AGENT_INACTIVITY_SECONDS,
      pairCodeTtlSeconds: e.PAIR_CODE_TTL_SECONDS,
      maxPendingCodes: e.MAX_CODES_PER_SESSION,
      pairFailuresMax: e.PAIR_FAILURES_MAX,
      pairFailuresWindowSeconds: e.PAIR_FAILURES_WINDOW_SECONDS,
      maxMessageBytes: e.MAX_MESSAGE_BYTES,
      maxMessagesPerSession: e.MAX_MESSAGES_PER_SESSION,
      maxSessions: e.MAX_SESSIONS,
      maxPageBytes: e.MAX_PAGE_BYTES,
      maxSessionBytes: e.MAX_SESSION_BYTES,
      maxStoreBytes: e.MAX_STORE_BYTES,
    },
    logLevel: e.LOG_LEVEL,
    requireKeyForReads: e.REQUIRE_KEY_FOR_READS,
    redactionPatterns,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    waiters: { maxTotal: e.MAX_WAITERS, maxPerAddress: e.MAX_WAITERS_PER_IP },
    slowReaderSeconds: e.SLOW_READER_SECONDS,
    sseKeepAliveSeconds: e.SSE_KEEPALIVE_SECONDS,
    http: { requestTimeoutMs: e.REQUEST_TIMEOUT_SECONDS * 1000, maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_IP },
    hub: {
      maxFrameBytes: e.HUB_MAX_FRAME_BYTES,
      framesPerSecond: e.HUB_FRAMES_PER_SECOND,
      pingSeconds: e.HUB_PING_SECONDS,
      maxBufferedBytes: e.HUB_MAX_BUFFERED_BYTES,
      maxConnections: e.HUB_MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.HUB_MAX_CONNECTIONS_PER_IP,
      connectTimeoutSeconds: e.HUB_CONNECT_TIMEOUT_SECONDS,
      serviceTtlSeconds: e.HUB_SERVICE_TTL_SECONDS,
    },
    hubIdentities: { openRegistration: e.HUB_OPEN_REGISTRATION, provisioned, ttlDays: e.HUB_IDENTITY_TTL_DAYS },
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: e.WEBHOOK_TIMEOUT_SECONDS * 1000,
      maxPerSession: e.WEBHOOK_MAX_PER_SESSION,
      maxPerHost: e.WEBHOOK_MAX_PER_HOST,
      maxOutstanding: e.WEBHOOK_MAX_OUTSTANDING,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: e.WEBHOOK_RETRY_MAX_SECONDS * 1000,
    },
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    store: {
      kind: e.STORE,
      dataDir: e.DATA_DIR,
      sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
      redisUrl: e.REDIS_URL,
      redisPrefix: e.REDIS_PREFIX,
      ...(e.REDIS_CLUSTER_NODES ? { redisClusterNodes: e.REDIS_CLUSTER_NODES } : {}),
    },
  }
}
