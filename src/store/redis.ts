import { Cluster, type ClusterNode, Redis } from 'ioredis'
import { nexusError } from '../core/errors.js'
import { SessionEvents } from './redis/events.js'
import { type Script, scripts } from './redis/scripts.js'
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
import { sameKeyHash } from '../core/ids.js'

/** A single Redis or a Redis Cluster: the store runs the same on both. */
export type RedisClient = Redis | Cluster

export interface RedisStoreOptions extends StoreLimits {
  /** Default redis://127.0.0.1:6379. Ignored when `client` or `clusterNodes` is given. */
  url?: string
  /** Seed nodes of a Redis Cluster (`host:port` or `{ host, port }`): the store opens a Cluster client on them instead of `url`. */
  clusterNodes?: ClusterNode[]
  /** A client (single or Cluster) to use instead of opening one; it is left open by close(). */
  client?: RedisClient
  /** Put before every key and channel; default `nexus:`. No braces: keys carry a {hash tag}. */
  prefix?: string
  /**
   * Redis forgets a session's keys this long after its expiresAt (expiry is decided by the `now`
   * the core passes; the margin absorbs clock differences between instances). Default 60 s.
   */
  expiryMarginMs?: number
  /** A command without a reply by then fails (Redis paused or the network gone). Default 500. */
  commandTimeoutMs?: number
  /** At start, how long a subscription waits for the first connection. Default 2000. */
  connectWaitMs?: number
  /** How long a session's subscription outlives its last watcher. Default 10 s. */
  lingerMs?: number
  /** Connection trouble and failed bookkeeping, once per episode (pino's signature fits). */
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
}

/** Index and counter changes are sent at least this often, */
const ACCOUNT_INTERVAL_MS = 50
/** or as soon as this many sessions have some. */
const ACCOUNT_BATCH = 500
/** Sessions the sweep takes from the index per script call. */
const SWEEP_BATCH = 200
/** Idle hub identities forgotten per script call. */
const IDENTITY_SWEEP_BATCH = 500
/** Seconds a client is asked to wait when Redis cannot be reached. */
const UNAVAILABLE_RETRY_SECONDS = 2
/**
 * Replies that mean "Redis is not serving right now", not "the command is wrong". OOM (Redis at
 * maxmemory under noeviction) is refused at a script's first write, before it changed anything.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOREPLICAS|MISCONF|OOM)\b|OOM command not allowed/

type Reply = unknown[]

/** Compare-and-set retries before a webhook change gives up (another instance kept changing it). */
const WEBHOOK_TRIES = 8

interface WebhookRead {
  state: 'ok' | 'session_not_found'
  /** The webhook as stored ('' for none): what a write must still find. */
  raw: string
  held: HeldWebhook | null
  lastCursor: number
  /** The member's key digest; null when the agent is not a member. */
  keyHash: string | null
}

/** The member check of the webhook calls, in the stores' order: session live, a member, the key. */
function memberRefusal(read: WebhookRead, keyHash: string): 'session_not_found' | 'not_member' | 'bad_key' | null {
  if (read.state !== 'ok') return 'session_not_found'
  if (read.keyHash === null) return 'not_member'
  if (!sameKeyHash(keyHash, read.keyHash)) return 'bad_key'
  return null
}

/**
 * The SessionStore on Redis, for many Nexus instances sharing one state. Every multi-key step is
 * one Lua script (./redis/scripts.ts) run on the keys of one session, which share the hash tag
 * `{<sessionId>}`; the global bookkeeping (the session index for maxSessions and stats, the agent
 * and message counters) lives under `{global}` and is kept by separate scripts. Expiry is decided
 * inside the scripts by the `now` passed in, and Redis key expiry (PEXPIREAT expiresAt + margin)
 * forgets what nobody sweeps. Events go out on a channel per session, published by the scripts.
 * The design and its trade-offs: references/scaling.md.
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis'
  /** The command connection, shared with the rate limiter when the app runs on Redis. */
  readonly client: RedisClient
  readonly prefix: string
  readonly #limits: StoreLimits
  readonly #ownsClient: boolean
  readonly #margin: string
  readonly #connectWaitMs: number
  readonly #events: SessionEvents
  readonly #log: RedisStoreOptions['log']
  readonly #global: string[]
  #down = false
  /** A command timed out and no PING has been answered since. */
  #silent = false
  /** Index and counter changes not yet sent (see #account). */
  readonly #pending = new Map<string, { expiresAt: number | undefined; set: boolean; members: number; bytes: number }>()
  #pendingMessages = 0
  #pendingNow = 0
  #flushTimer: NodeJS.Timeout | undefined
  #closed = false
  #lastBytesSweep = -Infinity

  constructor(options: RedisStoreOptions) {
    this.#limits = {
      maxSessions: options.maxSessions,
      maxMessagesPerSession: options.maxMessagesPerSession,
      ...(options.maxSessionBytes !== undefined ? { maxSessionBytes: options.maxSessionBytes } : {}),
      ...(options.maxStoreBytes !== undefined ? { maxStoreBytes: options.maxStoreBytes } : {}),
    }
    this.prefix = options.prefix ?? 'nexus:'
    if (/[{}]/.test(this.prefix)) throw new Error('The Redis key prefix must not hold braces.')
    this.#margin = String(options.expiryMarginMs ?? 60_000)
    this.#connectWaitMs = options.connectWaitMs ?? 2000
    this.#log = options.log
    this.#ownsClient = options.client === undefined
    this.client = options.client ?? openClient(options)
    this.client.on('error', (err: Error) => {
      if (this.#down || this.#closed) return
      this.#down = true
      this.#log?.warn({ err: { message: err.message } }, 'redis unreachable; answering 503 store_unavailable until it returns')
    })
    this.client.on('ready', () => {
      // Commands sent while connecting at start wait for the connection; after that, while it
      // is down, they fail at once (503) instead of piling up.
      if (this.#ownsClient) this.client.options.enableOfflineQueue = false
      // Load every script now, so EVALSHA finds it (after a restart Redis has forgotten them); on
      // a Cluster into every master, since EVALSHA goes to the node of its first key's slot.
      const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
      for (const node of nodes) for (const script of Object.values(scripts)) node.script('LOAD', script.lua).catch(() => {})
      if (this.#down) this.#log?.info({}, 'redis reachable again')
      this.#down = false
    })
    const p = this.prefix
    this.#global = [
      `${p}{global}:sessions`, `${p}{global}:members`, `${p}{global}:agents`, `${p}{global}:messages`,
      `${p}{global}:bytes`, `${p}{global}:bytesTotal`,
    ]
    this.#events = new SessionEvents({
      // On a Cluster, a Cluster client of its own: it SUBSCRIBEs on one node, and a classic PUBLISH
      // on any node reaches every node of the Cluster (see references/scaling.md).
      connect: () =>
        this.client instanceof Cluster
          ? this.client.duplicate(undefined, { enableOfflineQueue: false })
          : this.client.duplicate({ enableOfflineQueue: false, autoResubscribe: false }),
      channelOf: (id) => this.#channel(id),
      lastCursors: (ids) => this.#lastCursors(ids),
      connectWaitMs: this.#connectWaitMs,
      lingerMs: options.lingerMs ?? 10_000,
      unavailable,
      report: (message, err) => this.#log?.warn({ err: err instanceof Error ? { message: err.message } : err }, message),
    })
  }

  async create(input: NewSession, now: number): Promise<CreateOutcome> {
    const expiresAt = now + input.ttlSeconds * 1000
    if (this.#pending.size > 0) this.#background(this.#flush())
    const reserved = await this.#runGlobal(scripts.reserve, [
      String(now), input.id, String(expiresAt), String(this.#limits.maxSessions), input.creator ? '1' : '0', input.greeting ? '1' : '0',
      String(input.greeting?.bytes ?? 0),
    ])
    if (reserved !== 1) return { ok: false, reason: 'capacity' }
    try {
      const created = await this.#runSession(scripts.create, input.id, now, [
        String(input.ttlSeconds),
        String(input.maxAgents),
        input.creatorAgentId ?? '',
        input.creator?.agentId ?? '',
        input.creator?.keyHash ?? '',
        input.greeting ? encode(input.greeting, now) : '',
        String(input.greeting?.bytes ?? 0),
      ])
      if (created !== 'ok') throw new Error(`session ${input.id} already exists`)
    } catch (err) {
      this.#background(this.#runGlobal(scripts.release, [input.id]))
      throw err
    }
    return {
      ok: true,
      session: {
        id: input.id,
        ttlSeconds: input.ttlSeconds,
        maxAgents: input.maxAgents,
        creatorAgentId: input.creatorAgentId,
        createdAt: now,
        expiresAt,
        lastCursor: 0,
        ended: null,
      },
    }
  }

  async status(sessionId: string, now: number): Promise<StatusOutcome> {
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.status, sessionId, now, [])) as Reply | null
    if (!reply) return null
    return { session: toSession(sessionId, reply[0] as string[]), members: toMembers(reply[1] as string[]) }
  }

  async join(sessionId: string, member: NewMember, now: number): Promise<JoinOutcome> {
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.join, sessionId, now, [member.agentId, member.keyHash])) as Reply
    if (reply[0] !== 'ok') return { ok: false, reason: reply[0] as 'session_not_found' | 'session_full' | 'agent_id_taken' }
    const session = toSession(sessionId, reply[1] as string[])
    this.#account(sessionId, now, session.expiresAt, 'gt', 1, 0)
    return { ok: true, session, agentCount: reply[2] as number }
  }

  /**
   * Two steps on two slots: the store's bytes are reserved on the global slot (refused there
   * when they would pass maxStoreBytes), then the session's script appends and drops atomically
   * on its own; what it dropped, or the whole reservation when it refused, is given back with
   * the next bookkeeping batch. The count errs high for a moment, never low.
   */
  async append(sessionId: string, draft: MessageDraft, keyHash: string | undefined, now: number): Promise<AppendOutcome> {
    return this.#append(sessionId, draft.agentId, draft, keyHash, undefined, now)
  }

  /** The append script, which also marks the session ended with its final message, in the same step. */
  async end(sessionId: string, agentId: string, keyHash: string | undefined, final: MessageDraft, reason: string, now: number): Promise<EndOutcome> {
    return this.#append(sessionId, agentId, final, keyHash, reason, now)
  }

  async #append(sessionId: string, agentId: string, draft: MessageDraft, keyHash: string | undefined, endReason: string | undefined, now: number): Promise<AppendOutcome> {
    await this.#sync(sessionId)
    if (this.#limits.maxStoreBytes !== undefined && !(await this.#reserveBytes(sessionId, draft.bytes, now))) {
      return { ok: false, reason: 'capacity' }
    }
    const cap = this.#limits.maxSessionBytes
    let reply: Reply
    try {
      reply = (await this.#runSession(scripts.append, sessionId, now, [
        agentId, keyHash ?? '', encode(draft, now), String(this.#limits.maxMessagesPerSession),
        String(draft.bytes), cap === undefined ? '' : String(cap),
        ...(endReason === undefined ? [] : ['1', endReason]),
      ])) as Reply
    } catch (err) {
      if (this.#limits.maxStoreBytes !== undefined) this.#account(sessionId, now, undefined, 'gt', 0, 0, -draft.bytes)
      throw err
    }
    if (reply[0] !== 'ok') {
      if (this.#limits.maxStoreBytes !== undefined) this.#account(sessionId, now, undefined, 'gt', 0, 0, -draft.bytes)
      return { ok: false, reason: reply[0] as 'session_not_found' | 'not_member' | 'bad_key' | 'ended' }
    }
    const session = toSession(sessionId, reply[1] as string[])
    // Without a store cap nothing was reserved: the bytes are counted here, after the fact.
    const counted = this.#limits.maxStoreBytes !== undefined ? 0 : draft.bytes
    this.#account(sessionId, now, session.expiresAt, 'gt', 0, 1, counted - (reply[2] as number))
    return { ok: true, message: { ...draft, cursor: session.lastCursor, createdAt: now }, session }
  }

  /** At the store's cap, expired sessions are swept (at most once a second) and the reservation tried again. */
  async #reserveBytes(sessionId: string, bytes: number, now: number): Promise<boolean> {
    const args = [sessionId, String(bytes), String(this.#limits.maxStoreBytes)]
    if ((await this.#runGlobal(scripts.reserveBytes, args)) === 1) return true
    if (now - this.#lastBytesSweep < 1000) return false
    this.#lastBytesSweep = now
    await this.sweep(now)
    await this.#flush()
    return (await this.#runGlobal(scripts.reserveBytes, args)) === 1
  }

  async read(sessionId: string, request: ReadRequest, now: number): Promise<ReadOutcome> {
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.read, sessionId, now, [
      request.agentId, String(request.after), String(request.limit), request.withMembers ? '1' : '0',
      request.maxBytes === undefined ? '' : String(request.maxBytes), request.keyHash ?? '',
    ])) as Reply
    if (reply[0] !== 'ok') return { ok: false, reason: reply[0] as 'session_not_found' | 'not_member' | 'bad_key' }
    const start = reply[2] as number
    const outcome: ReadOutcome = {
      ok: true,
      session: toSession(sessionId, reply[1] as string[]),
      messages: (reply[6] as string[]).map((raw, i) => decode(raw, start + i)),
      hasMore: reply[3] === 1,
      oldestCursor: reply[4] as number,
      droppedThrough: reply[5] as number,
    }
    if (request.withMembers) outcome.members = toMembers(reply[7] as string[])
    return outcome
  }

  async renew(sessionId: string, agentId: string, ttlSeconds: number | undefined, now: number, keyHash?: string): Promise<RenewOutcome> {
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.renew, sessionId, now, [agentId, ttlSeconds === undefined ? '' : String(ttlSeconds), keyHash ?? ''])) as Reply
    if (reply[0] !== 'ok') return { ok: false, reason: reply[0] as 'session_not_found' | 'not_member' | 'bad_key' }
    const session = toSession(sessionId, reply[1] as string[])
    this.#account(sessionId, now, session.expiresAt, 'set', 0, 0)
    return { ok: true, session, agents: toMembers(reply[2] as string[]).map((m) => m.agentId) }
  }

  async leave(sessionId: string, agentId: string, keyHash: string, now: number): Promise<LeaveOutcome> {
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.leave, sessionId, now, [agentId, keyHash])) as Reply
    if (reply[0] !== 'ok') return { ok: false, reason: reply[0] as 'session_not_found' | 'creator' | 'agent_not_found' | 'bad_key' }
    this.#account(sessionId, now, undefined, 'gt', -1, 0)
    return { ok: true, session: toSession(sessionId, reply[1] as string[]) }
  }

  async removeIdleMembers(sessionId: string, idleBefore: number, now: number): Promise<string[]> {
    await this.#sync(sessionId)
    const removed = (await this.#runSession(scripts.removeIdle, sessionId, now, [String(idleBefore)])) as string[]
    if (removed.length > 0) this.#account(sessionId, now, undefined, 'gt', -removed.length, 0)
    return removed
  }

  /**
   * Two steps, each atomic: reserve the code's name (SET NX on its index key, which maps the code
   * to its session), then store the record on the session's slot if the session is live. A
   * reservation whose session is gone is taken back.
   */
  async createCode(code: PairingCodeRecord, now: number, maxPending: number): Promise<CreateCodeOutcome> {
    const index = this.#codeIndex(code.code)
    const reserved = await this.#command(() =>
      this.client.call('SET', index, code.sessionId, 'PXAT', String(code.forgetAt + Number(this.#margin)), 'NX'),
    )
    if (reserved === null) return { ok: false, reason: 'exists' }
    try {
      await this.#sync(code.sessionId)
      const outcome = (await this.#runSession(
        scripts.createCode,
        code.sessionId,
        now,
        [String(code.expiresAt), String(code.forgetAt), code.code, String(maxPending)],
        [this.#codeKey(code.sessionId, code.code), this.#pendingCodes(code.sessionId)],
      )) as 'ok' | 'exists' | 'session_not_found' | 'too_many'
      if (outcome === 'ok') return { ok: true }
      await this.#command(() => this.client.del(index))
      return { ok: false, reason: outcome }
    } catch (err) {
      this.#background(this.#command(() => this.client.del(index)))
      throw err
    }
  }

  async getCode(code: string, now: number): Promise<PairingCodeRecord | null> {
    const sessionId = await this.#command(() => this.client.get(this.#codeIndex(code)))
    if (sessionId === null) return null
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.getCode, sessionId, now, [], [this.#codeKey(sessionId, code)])) as string[] | null
    if (!reply) return null
    return {
      code,
      sessionId,
      expiresAt: Number(reply[0]),
      claimedAt: reply[1] === '' ? null : Number(reply[1]),
      forgetAt: Number(reply[2]),
    }
  }

  /**
   * The index key names the session (it never changes while it exists); the claim itself is one
   * script on the session's slot that checks the code, joins and spends it together.
   */
  async claim(code: string, member: NewMember, now: number): Promise<ClaimOutcome> {
    const sessionId = await this.#command(() => this.client.get(this.#codeIndex(code)))
    if (sessionId === null) return { ok: false, reason: 'code_not_found' }
    await this.#sync(sessionId)
    const reply = (await this.#runSession(scripts.claim, sessionId, now, [member.agentId, member.keyHash, code], [
      this.#codeKey(sessionId, code),
      this.#pendingCodes(sessionId),
    ])) as Reply
    if (reply[0] !== 'ok') {
      return { ok: false, reason: reply[0] as 'code_not_found' | 'code_expired_or_used' | 'session_not_found' | 'session_full' | 'agent_id_taken' }
    }
    const session = toSession(sessionId, reply[1] as string[])
    this.#account(sessionId, now, session.expiresAt, 'gt', 1, 0)
    return { ok: true, session, agentCount: reply[2] as number }
  }

  async countAttempt(key: string, windowMs: number, now: number): Promise<AttemptCount> {
    const [count, resetAt] = (await this.#run(scripts.countAttempt, [this.#attemptKey(key)], [String(now), String(windowMs), this.#margin])) as [number, number]
    return { count, resetAt }
  }

  async uncountAttempt(key: string, now: number): Promise<void> {
    await this.#run(scripts.uncountAttempt, [this.#attemptKey(key)], [String(now)])
  }

  async registerIdentity(agentId: string, keyHash: string, now: number): Promise<RegisterIdentityOutcome> {
    const reply = (await this.#run(scripts.registerIdentity, this.#identityKeys(), [agentId, keyHash, String(now)])) as Reply
    if (reply[0] === 1) return { ok: true }
    return { ok: false, identity: identityRecord(agentId, reply.slice(1) as string[]) }
  }

  async getIdentity(agentId: string): Promise<IdentityRecord | null> {
    const reply = (await this.#run(scripts.getIdentity, this.#identityKeys(), [agentId])) as string[]
    return reply.length === 0 ? null : identityRecord(agentId, reply)
  }

  async touchIdentities(agentIds: string[], now: number): Promise<void> {
    if (agentIds.length === 0) return
    await this.#run(scripts.touchIdentities, this.#identityKeys(), [String(now), ...agentIds])
  }

  async forgetIdleIdentities(idleBefore: number): Promise<number> {
    let forgotten = 0
    for (;;) {
      const gone = (await this.#run(scripts.forgetIdentities, this.#identityKeys(), [String(idleBefore), String(IDENTITY_SWEEP_BATCH)])) as number
      forgotten += gone
      if (gone < IDENTITY_SWEEP_BATCH) return forgotten
    }
  }

  /**
   * Redis key expiry forgets sessions, codes and attempt counts by itself; the sweep takes expired sessions out of
   * the index (and their members out of the count) and ends each one, which tells its watchers.
   * Instances sweeping at once split the work: each id leaves the index exactly once.
   */
  async sweep(now: number): Promise<number> {
    if (this.#pending.size > 0) this.#background(this.#flush())
    let removed = 0
    for (;;) {
      const ids = (await this.#runGlobal(scripts.sweep, [String(now), String(SWEEP_BATCH)])) as string[]
      await Promise.all(ids.map(async (id) => {
        await this.#sync(id).catch(() => {})
        const alive = (await this.#runSession(scripts.end, id, now, [])) as [number, number] | null
        if (alive) this.#account(id, now, alive[0], 'set', alive[1], 0)
        else removed++
      }))
      if (ids.length < SWEEP_BATCH) return removed
    }
  }

  async stats(now: number): Promise<StoreStats> {
    await this.#flush().catch(() => {})
    const [activeSessions, totalAgents, totalMessages, bytesHeld] = (await this.#runGlobal(scripts.stats, [String(now)])) as [number, number, number, number]
    return { activeSessions, totalAgents, totalMessages, bytesHeld }
  }

  watch(sessionId: string, watcher: SessionWatcher): void {
    this.#events.watch(sessionId, watcher)
  }

  unwatch(sessionId: string, watcher: SessionWatcher): void {
    this.#events.unwatch(sessionId, watcher)
  }

  /** Whether Redis answers a PING within `timeoutMs`. */
  async ping(timeoutMs = 500): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    try {
      const answer = await Promise.race([
        this.#command(() => this.client.ping()),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), timeoutMs)
        }),
      ])
      return answer === 'PONG'
    } catch {
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#flush().catch(() => {})
    await this.#events.close()
    if (!this.#ownsClient) return
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect())
    else this.client.disconnect()
  }

  // Webhooks. The rules are webhook-state.ts's, made atomic by the compare-and-set of the
  // webhookWrite script (retried on a conflict). The due index is a sorted set of its own slot
  // (`<sessionId> <agentId>` -> nextAttemptAt), written after the session's script: a hint for
  // finding work, never the authority, which is the lease.

  async setWebhook(sessionId: string, agentId: string, keyHash: string, hook: { url: string; secret: string }, maxPerSession: number, now: number): Promise<SetWebhookOutcome> {
    for (let tries = 0; ; tries++) {
      const read = await this.#webhookRead(sessionId, agentId, now)
      const refused = memberRefusal(read, keyHash)
      if (refused) return { ok: false, reason: refused }
      let held: HeldWebhook
      if (read.held) {
        held = read.held
        replaceWebhook(held, hook, keyHash, now)
      } else {
        held = newWebhook(hook, keyHash, read.lastCursor, now)
      }
      const written = await this.#webhookWrite(sessionId, agentId, read.raw, held, undefined, read.held ? undefined : maxPerSession, now)
      if (written === 'conflict' && tries < WEBHOOK_TRIES) continue
      if (written === 'too_many') return { ok: false, reason: 'too_many' }
      if (written !== 'ok') return { ok: false, reason: 'session_not_found' }
      await this.#webhookDue(sessionId, agentId, held.nextAttemptAt)
      return { ok: true, webhook: webhookRecord(held), replaced: read.held !== null }
    }
  }

  async getWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<GetWebhookOutcome> {
    const read = await this.#webhookRead(sessionId, agentId, now)
    const refused = memberRefusal(read, keyHash)
    if (refused) return { ok: false, reason: refused }
    // One left behind by an earlier member of the same id is not this one's.
    return { ok: true, webhook: read.held && stillOwned(read.held, keyHash) ? webhookRecord(read.held) : null, lastCursor: read.lastCursor }
  }

  async removeWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<RemoveWebhookOutcome> {
    for (let tries = 0; ; tries++) {
      const read = await this.#webhookRead(sessionId, agentId, now)
      const refused = memberRefusal(read, keyHash)
      if (refused) return { ok: false, reason: refused }
      if (!read.held) return { ok: true, removed: false }
      const written = await this.#webhookWrite(sessionId, agentId, read.raw, null, undefined, undefined, now)
      if (written === 'conflict' && tries < WEBHOOK_TRIES) continue
      await this.#webhookDue(sessionId, agentId, null)
      return { ok: true, removed: written === 'ok' }
    }
  }

  async leaseWebhook(sessionId: string, agentId: string, holder: string, until: number, now: number): Promise<LeaseWebhookOutcome> {
    for (let tries = 0; ; tries++) {
      const read = await this.#webhookRead(sessionId, agentId, now)
      if (!read.held || read.state !== 'ok' || !stillOwned(read.held, read.keyHash)) {
        if (read.held) await this.#webhookWrite(sessionId, agentId, read.raw, null, undefined, undefined, now)
        await this.#webhookDue(sessionId, agentId, null)
        return { ok: false, reason: 'gone' }
      }
      const held = read.held
      if (!mayLease(held, holder, now)) return { ok: false, reason: 'held' }
      lease(held, holder, until)
      const written = await this.#webhookWrite(sessionId, agentId, read.raw, held, undefined, undefined, now)
      if (written === 'conflict') {
        if (tries < WEBHOOK_TRIES) continue
        return { ok: false, reason: 'held' }
      }
      if (written !== 'ok') return { ok: false, reason: 'gone' }
      await this.#webhookDue(sessionId, agentId, until)
      return { ok: true, webhook: webhookRecord(held), lastCursor: read.lastCursor }
    }
  }

  async settleWebhook(sessionId: string, agentId: string, holder: string, settlement: WebhookSettlement, now: number): Promise<SettleWebhookOutcome> {
    for (let tries = 0; ; tries++) {
      const read = await this.#webhookRead(sessionId, agentId, now)
      if (!read.held || read.state !== 'ok' || !holds(read.held, holder)) return 'lost'
      const held = read.held
      const outcome = settle(held, settlement, read.lastCursor, now)
      // Computed from the session's last cursor: a message appended meanwhile must not be missed.
      const written = await this.#webhookWrite(sessionId, agentId, read.raw, held, read.lastCursor, undefined, now)
      if (written === 'conflict' && tries < WEBHOOK_TRIES) continue
      if (written !== 'ok') return 'lost'
      await this.#webhookDue(sessionId, agentId, held.nextAttemptAt)
      return outcome
    }
  }

  async dueWebhooks(now: number, limit: number): Promise<WebhookRef[]> {
    const members = await this.#command(() => this.client.zrangebyscore(this.#webhookIndex(), '-inf', String(now), 'LIMIT', 0, limit))
    return members.map((member) => {
      const space = member.indexOf(' ')
      return { sessionId: member.slice(0, space), agentId: member.slice(space + 1) }
    })
  }

  async #webhookRead(sessionId: string, agentId: string, now: number): Promise<WebhookRead> {
    const reply = (await this.#runSession(scripts.webhookRead, sessionId, now, [agentId], [this.#webhookKey(sessionId)])) as Reply
    const raw = typeof reply[1] === 'string' ? reply[1] : ''
    return {
      state: reply[0] as 'ok' | 'session_not_found',
      raw,
      held: raw === '' ? null : (JSON.parse(raw) as HeldWebhook),
      lastCursor: reply[2] as number,
      keyHash: typeof reply[3] === 'string' ? reply[3] : null,
    }
  }

  #webhookWrite(sessionId: string, agentId: string, expected: string, next: HeldWebhook | null, lastCursor: number | undefined, max: number | undefined, now: number): Promise<string> {
    const args = [agentId, expected, next ? JSON.stringify(next) : '', lastCursor === undefined ? '' : String(lastCursor), max === undefined ? '' : String(max)]
    return this.#runSession(scripts.webhookWrite, sessionId, now, args, [this.#webhookKey(sessionId)]) as Promise<string>
  }

  /** Puts the webhook in the due index at `at`, or takes it out (null). */
  async #webhookDue(sessionId: string, agentId: string, at: number | null): Promise<void> {
    const member = `${sessionId} ${agentId}`
    if (at === null) await this.#command(() => this.client.zrem(this.#webhookIndex(), member))
    else await this.#command(() => this.client.zadd(this.#webhookIndex(), String(at), member))
  }

  #webhookKey(sessionId: string): string {
    return `${this.prefix}{${sessionId}}:webhooks`
  }

  #webhookIndex(): string {
    return `${this.prefix}webhooks:due`
  }

  // Keys. Every key of a session carries its hash tag, so one script touches one slot.

  #sessionKeys(sessionId: string): [string, string] {
    return [`${this.prefix}{${sessionId}}:session`, `${this.prefix}{${sessionId}}:log`]
  }

  #channel(sessionId: string): string {
    return `${this.prefix}{${sessionId}}:events`
  }

  #codeKey(sessionId: string, code: string): string {
    return `${this.prefix}{${sessionId}}:code:${code}`
  }

  #codeIndex(code: string): string {
    return `${this.prefix}code:${code}`
  }

  #pendingCodes(sessionId: string): string {
    return `${this.prefix}{${sessionId}}:codes`
  }

  /** The hub's identities: keys, creation times, last connections; one slot, {identities}. */
  #identityKeys(): string[] {
    return [`${this.prefix}{identities}:keys`, `${this.prefix}{identities}:created`, `${this.prefix}{identities}:seen`]
  }

  /** An attempt key from the core (an address may hold ':' but never braces), on a slot of its own. */
  #attemptKey(key: string): string {
    return `${this.prefix}attempts:${key.replace(/[{}]/g, '_')}`
  }

  // Running commands.

  /** Events of a watched session must be heard before we change it: wait for its subscription. */
  async #sync(sessionId: string): Promise<void> {
    const pending = this.#events.ready(sessionId)
    if (pending) await pending.catch((err: unknown) => {
      throw storeError(err)
    })
  }

  #runSession(script: Script, sessionId: string, now: number, args: string[], extraKeys: string[] = []): Promise<unknown> {
    return this.#run(script, [...this.#sessionKeys(sessionId), ...extraKeys], [this.#channel(sessionId), String(now), this.#margin, ...args])
  }

  #runGlobal(script: Script, args: string[]): Promise<unknown> {
    return this.#run(script, this.#global, args)
  }

  /** EVALSHA, loading the script on first use (or after Redis lost its script cache). */
  #run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    return this.#command(async () => {
      try {
        return await this.client.evalsha(script.sha, keys.length, ...keys, ...args)
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return this.client.eval(script.lua, keys.length, ...keys, ...args)
        throw err
      }
    })
  }

  /**
   * Runs a command; any failure to reach Redis becomes `store_unavailable`. A command that timed
   * out means Redis (or the way to it) is silent: until a probe PING is answered, commands fail
   * at once instead of each waiting out its own timeout.
   */
  async #command<T>(command: () => Promise<T>): Promise<T> {
    if (this.#silent) throw unavailable()
    try {
      return await command()
    } catch (err) {
      if (err instanceof Error && err.message === 'Command timed out') this.#probe()
      throw storeError(err)
    }
  }

  #probe(): void {
    if (this.#silent || this.#closed) return
    this.#silent = true
    const ping = () => {
      this.client.ping().then(
        () => {
          this.#silent = false
        },
        () => {
          if (this.#closed) this.#silent = false
          else setTimeout(ping, 100).unref()
        },
      )
    }
    ping()
  }

  /**
   * The index and counters follow session changes in a second script on the global slot. The
   * reply to the caller does not depend on it, so changes are gathered per session and sent in
   * one batch every ACCOUNT_INTERVAL_MS (and before anything that reads them: stats, sweep,
   * create, close). Replies on one connection come in the order the scripts ran, so the last
   * expiry noted for a session is its latest.
   */
  #account(sessionId: string, now: number, expiresAt: number | undefined, mode: 'gt' | 'set', members: number, messages: number, bytes = 0): void {
    if (this.#closed) return
    let pending = this.#pending.get(sessionId)
    if (!pending) {
      pending = { expiresAt: undefined, set: false, members: 0, bytes: 0 }
      this.#pending.set(sessionId, pending)
    }
    if (expiresAt !== undefined) pending.expiresAt = expiresAt
    if (mode === 'set') pending.set = true
    pending.members += members
    pending.bytes += bytes
    this.#pendingMessages += messages
    this.#pendingNow = Math.max(this.#pendingNow, now)
    if (this.#pending.size >= ACCOUNT_BATCH) this.#background(this.#flush())
    else if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => this.#background(this.#flush()), ACCOUNT_INTERVAL_MS)
      this.#flushTimer.unref()
    }
  }

  /** Sends what #account gathered. Lost if Redis is away: the sweep puts a live session back in the index with its members. */
  #flush(): Promise<unknown> {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    if (this.#pending.size === 0 && this.#pendingMessages === 0) return Promise.resolve()
    const args = [String(this.#pendingNow), String(this.#pendingMessages)]
    for (const [id, pending] of this.#pending) {
      args.push(id, pending.expiresAt === undefined ? '' : String(pending.expiresAt), pending.set ? 'set' : 'gt', String(pending.members), String(pending.bytes))
    }
    this.#pending.clear()
    this.#pendingMessages = 0
    return this.#runGlobal(scripts.account, args)
  }

  #background(work: Promise<unknown>): void {
    work.catch((err: unknown) => {
      if (!this.#down) this.#log?.warn({ err: err instanceof Error ? { message: err.message } : err }, 'redis bookkeeping failed')
    })
  }

  /** For the subscriber's catch-up after a reconnect, which may come a moment before this connection's. */
  async #lastCursors(sessionIds: string[]): Promise<(number | null)[]> {
    if (this.client.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          this.client.off('ready', done)
          resolve()
        }
        const timer = setTimeout(done, this.#connectWaitMs)
        this.client.once('ready', done)
      })
    }
    const client = this.client
    if (client instanceof Cluster) {
      // A pipeline on a Cluster must stay on one node; these keys are spread over all slots.
      if (this.#silent) throw unavailable()
      return Promise.all(sessionIds.map((id) =>
        client.hget(this.#sessionKeys(id)[0], 'last').then((value) => (value === null ? null : Number(value)), () => null),
      ))
    }
    const pipeline = client.pipeline()
    for (const id of sessionIds) pipeline.hget(this.#sessionKeys(id)[0], 'last')
    const replies = (await this.#command(() => pipeline.exec())) ?? []
    return replies.map(([err, value]) => (err || value === null ? null : Number(value)))
  }
}

/**
 * Fail fast while Redis is away: nothing is retried (a retried append could be stored twice), a
 * silent server times out, and once the first connection is up nothing queues either (see
 * 'ready' in the constructor); reconnect forever in the background.
 */
function openClient(options: RedisStoreOptions): RedisClient {
  const connection = {
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    autoResubscribe: false,
  }
  const retry = (attempt: number) => Math.min(50 * attempt, 1000)
  if (options.clusterNodes && options.clusterNodes.length > 0) {
    return new Cluster(options.clusterNodes, {
      enableOfflineQueue: true,
      clusterRetryStrategy: retry,
      slotsRefreshTimeout: 2000,
      redisOptions: connection,
    })
  }
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', { ...connection, enableOfflineQueue: true, retryStrategy: retry })
}

function unavailable(): Error {
  return nexusError('store_unavailable', undefined, { retryAfter: UNAVAILABLE_RETRY_SECONDS })
}

/** Connection trouble (and Redis saying it cannot serve now) is `store_unavailable`; a wrong command stays a bug. */
function storeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err
  if (err.name === 'NexusError') return err
  if (err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) return err
  return unavailable()
}

/** One compact JSON string per message; the cursor is its place in the list. */
function encode(draft: MessageDraft, createdAt: number): string {
  // `b` first: the scripts read a message's size from the start of its string (scripts.ts).
  const stored: Record<string, unknown> = { b: draft.bytes, i: draft.id, a: draft.agentId, c: createdAt, v: draft.verified ? 1 : 0, r: draft.redactions }
  if (draft.text !== undefined) stored.t = draft.text
  if (draft.json !== undefined) stored.j = draft.json
  return JSON.stringify(stored)
}

function decode(raw: string, cursor: number): StoredMessage {
  const stored = JSON.parse(raw) as { b?: number; i: string; a: string; c: number; v: 0 | 1; r: string[]; t?: string; j?: JsonValue }
  const message: StoredMessage = {
    id: stored.i, agentId: stored.a, verified: stored.v === 1, redactions: stored.r, bytes: stored.b ?? raw.length, cursor, createdAt: stored.c,
  }
  if (stored.t !== undefined) message.text = stored.t
  if (stored.j !== undefined) message.json = stored.j
  return message
}

/** The fields record() answers: ttl, max, cr, ca, exp, last, then the end's eb, er, ec, ea (null while open). */
function toSession(id: string, fields: (string | null)[]): SessionRecord {
  const [ttl, max, creator, createdAt, expiresAt, last, endedBy, endReason, endCursor, endedAt] = fields
  return {
    id,
    ttlSeconds: Number(ttl),
    maxAgents: Number(max),
    creatorAgentId: creator ? creator : null,
    createdAt: Number(createdAt),
    expiresAt: Number(expiresAt),
    lastCursor: Number(last),
    ended: endCursor === null || endCursor === undefined
      ? null
      : { by: endedBy ?? '', reason: endReason ?? '', cursor: Number(endCursor), at: Number(endedAt) },
  }
}

/** Members in the order they joined (the memory store's order). */
function toMembers(flat: string[]): MemberRecord[] {
  const members: MemberRecord[] = []
  for (let i = 0; i + 2 < flat.length; i += 3) {
    members.push({ agentId: flat[i]!, joinedAt: Number(flat[i + 1]), lastSeenAt: Number(flat[i + 2]) })
  }
  return members.sort((a, b) => a.joinedAt - b.joinedAt)
}

/** An identity from the script's answer: keyHash, createdAt, lastConnectedAt. */
function identityRecord(agentId: string, fields: string[]): IdentityRecord {
  return { agentId, keyHash: String(fields[0]), createdAt: Number(fields[1]), lastConnectedAt: Number(fields[2]) }
}
