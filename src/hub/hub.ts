import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import type { Config } from '../config.js'
import type { Clock } from '../core/clock.js'
import { isNexusError, type NexusError, nexusError } from '../core/errors.js'
import type { Identities } from '../core/identities.js'
import { CAPACITY_RETRY_SECONDS } from '../core/limits.js'
import type { AddressBudget } from '../http/rate-limit.js'
import type { SessionService } from '../core/sessions.js'
import { ChannelDirectory } from './channels.js'
import { CLOSE, Connection } from './connection.js'
import { Delivery, type Pump } from './delivery.js'
import { errorBody } from './errors.js'
import { type FrameEcho, parseFrame } from './frames.js'
import { forget, handleFrame, type HubContext, tell } from './handlers.js'
import { Registry } from './registry.js'
import { Services } from './services.js'

/** The hub's limits as the configuration reads them (each is described in src/config.ts). */
export type HubLimits = Config['hub']

/**
 * The socket does not check UTF-8 (`skipUTF8Validation`): it would close the connection (1007)
 * on a bad frame, and a bad frame gets an error frame instead. So frames are decoded here,
 * refusing what is not UTF-8 rather than replacing it.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeText(data: RawData): string {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data
  try {
    return utf8.decode(bytes)
  } catch {
    throw nexusError('invalid_body', 'The frame is not valid UTF-8 text.')
  }
}

/**
 * Frames that make or write something (services, requests, channels, messages, ends): each
 * spends one unit of its address's rate-limit budget, as an HTTP request does, so a socket
 * cannot do through the hub what the rate limit forbids over HTTP. Reads and `connect` do not
 * (the upgrade itself was counted).
 */
const WRITES: ReadonlySet<string> = new Set(['register', 'chat_request', 'chat_accept', 'chat_reject', 'chat_message', 'chat_end'])

/** Channels nobody here watches are checked for expiry at most this often (and idle identities forgotten). */
const SWEEP_MS = 60_000
/**
 * The identities this hub holds live are marked as used this often, so the identity TTL (a day
 * at least) never forgets an id that is connected, provides a service or holds a channel here.
 */
const KEEP_ALIVE_MS = 60 * 60 * 1000
/** Identities marked as used per store call. */
const KEEP_ALIVE_BATCH = 1000

/**
 * The chat hub: providers, consumers and channels over WebSocket (references/hub.md). A third
 * way in beside polling and streaming: every channel is a session of the core, every message
 * goes through `sessions.send` and comes back through `sessions.poll`, so the hub keeps the
 * same rules, cursors, expiry and redaction as the HTTP API.
 *
 * State (who is connected, services, requests, keys and cursors) lives in this process; the
 * store is shared, but live sockets are local. Identities (who may wear an agent id) live in the
 * store, through the core's Identities.
 */
export class Hub {
  readonly #ctx: HubContext
  readonly #limits: HubLimits
  readonly #log: FastifyBaseLogger
  readonly #budget: AddressBudget
  readonly #clock: Clock
  readonly #ticker: NodeJS.Timeout
  #sweptAt: number
  #keptAliveAt = -Infinity
  #closing = false

  constructor(options: { sessions: SessionService; identities: Identities; limits: HubLimits; log: FastifyBaseLogger; clock: Clock; budget: AddressBudget }) {
    this.#limits = options.limits
    this.#budget = options.budget
    this.#clock = options.clock
    this.#log = options.log
    const channels = new ChannelDirectory()
    const registry = new Registry()
    const delivery = new Delivery({
      sessions: options.sessions,
      channels,
      log: options.log,
      endDelivered: (pump) => this.#endDelivered(pump),
      readFailed: (pump, err) => this.#readFailed(pump, err),
    })
    this.#ctx = {
      sessions: options.sessions,
      identities: options.identities,
      registry,
      channels,
      services: new Services({ providerTtlMs: options.limits.serviceTtlSeconds * 1000 }),
      delivery,
      log: options.log,
      clock: options.clock,
      // Half the socket's cap: a reply always fits in a drained socket, with room for deliveries.
      maxHistoryBytes: Math.floor(options.limits.maxBufferedBytes / 2),
      opening: new Map(),
    }
    this.#sweptAt = options.clock()
    this.#ticker = setInterval(() => this.#tick(), options.limits.pingSeconds * 1000)
    this.#ticker.unref()
  }

  /**
   * Why one more socket from `address` may not open, if it may not: the server is closing, or
   * the hub is at either of its caps. Asked before the upgrade, so the refusal is an HTTP answer
   * from the catalogue, and again once upgraded, for upgrades that were in flight together.
   */
  refusal(address: string): NexusError | undefined {
    if (this.#closing) return nexusError('capacity_exceeded', 'The server is shutting down; reconnect later.', { retryAfter: CAPACITY_RETRY_SECONDS })
    if (this.#ctx.registry.size >= this.#limits.maxConnections) {
      return nexusError('capacity_exceeded', `The hub holds its maximum of ${this.#limits.maxConnections} connections; retry later.`, { retryAfter: CAPACITY_RETRY_SECONDS })
    }
    if (this.#ctx.registry.fromAddress(address) >= this.#limits.maxConnectionsPerAddress) {
      return nexusError('capacity_exceeded', `The hub holds at most ${this.#limits.maxConnectionsPerAddress} connections from one address; close one or retry later.`, { retryAfter: CAPACITY_RETRY_SECONDS })
    }
    return undefined
  }

  /** Takes a freshly upgraded socket. The agent id may come with the upgrade (`X-Agent-Id`, `?agent_id=`). */
  accept(socket: WebSocket, request: FastifyRequest): void {
    const refused = this.refusal(request.ip)
    if (refused) {
      const { body } = errorBody(refused)
      socket.send(JSON.stringify({ type: 'error', ...body }))
      socket.close(this.#closing ? CLOSE.goingAway : CLOSE.tryAgainLater, this.#closing ? 'server shutting down' : 'hub full')
      return
    }
    const connection = new Connection(socket, request, this.#limits, (slow) => {
      this.#log.warn({ clientId: slow.clientId, agentId: slow.agentId, buffered: slow.socket.bufferedAmount }, 'hub: cut off a reader too slow to keep up')
    })
    this.#ctx.registry.add(connection)
    // A socket that never says who it is would hold a connection slot for nothing.
    connection.connectDeadline = setTimeout(() => this.#connectTimedOut(connection), this.#limits.connectTimeoutSeconds * 1000)
    connection.connectDeadline.unref()
    socket.on('message', (data, isBinary) => this.#onData(connection, data, isBinary))
    socket.on('pong', () => {
      connection.alive = true
    })
    socket.on('close', () => this.#onClose(connection))

    const url = new URL(request.url, 'http://hub')
    if (url.searchParams.has('api_key')) {
      // Refused rather than used: a URL ends up in logs, and with it the key.
      this.#sendError(connection, nexusError('invalid_request', 'The agent key is never read from the URL (it would end up in logs): send it as X-Api-Key or in connect {api_key}.'), { type: 'connect' })
      return
    }
    const agentId = header(request, 'x-agent-id') ?? url.searchParams.get('agent_id') ?? undefined
    if (agentId === undefined || agentId === '') return
    const apiKey = header(request, 'x-api-key')
    const echo: FrameEcho = { type: 'connect' }
    // Without X-Api-Key the key may still come in the first frame: a refusal then waits for it.
    const quiet = apiKey === undefined
    connection.enqueue(() => this.#run(connection, { type: 'connect', agent_id: agentId, ...(apiKey !== undefined ? { api_key: apiKey } : {}) }, echo, quiet))
  }

  /**
   * A socket failed (reset by the peer, a frame the WebSocket layer refused): the client's
   * trouble, not the server's, so it is logged quietly and the socket dropped.
   */
  socketError(err: Error, socket: WebSocket): void {
    this.#log.debug({ err }, 'hub: socket error')
    socket.terminate()
  }

  /** Sockets held open right now (for the metrics). */
  get connections(): number {
    return this.#ctx.registry.size
  }

  /** Says goodbye to every socket (1001: reconnect later) and stops the timers. */
  close(): void {
    if (this.#closing) return
    this.#closing = true
    clearInterval(this.#ticker)
    this.#ctx.delivery.close()
    for (const connection of this.#ctx.registry.connections()) connection.close(CLOSE.goingAway, 'server shutting down')
  }

  #onData(connection: Connection, data: RawData, isBinary: boolean): void {
    if (this.#closing) return
    connection.alive = true
    const size = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : data.byteLength
    const allowed = connection.takeToken()
    const echo: FrameEcho = {}
    if (size > this.#limits.maxFrameBytes) {
      return this.#sendError(connection, nexusError('payload_too_large', `A frame may hold at most ${this.#limits.maxFrameBytes} bytes.`), echo)
    }
    if (isBinary) return this.#sendError(connection, nexusError('invalid_body', 'Frames are JSON text, not binary.'), echo)
    let frame
    try {
      frame = parseFrame(decodeText(data), echo)
    } catch (err) {
      return this.#sendError(connection, allowed ? err : this.#tooFast(), echo)
    }
    if (!allowed) return this.#sendError(connection, this.#tooFast(), echo)
    if (!connection.enqueue(() => this.#run(connection, frame, echo))) {
      this.#sendError(connection, nexusError('rate_limit_exceeded', 'Too many frames are waiting on this connection; slow down.'), echo)
    }
  }

  #tooFast() {
    return nexusError('rate_limit_exceeded', `At most ${this.#limits.framesPerSecond} frames per second on one connection; slow down.`, { retryAfter: 1 })
  }

  /**
   * Handles one frame. A connect refused for its key closes the socket (4401) once the error
   * frame is sent, unless `quiet` (the upgrade named the id without a key): then nothing is said
   * and the socket waits for its connect frame.
   */
  async #run(connection: Connection, frame: Parameters<typeof handleFrame>[2], echo: FrameEcho, quiet = false): Promise<void> {
    if (!connection.open) return
    try {
      // Spent in frame order, inside the queue: a frame over the budget is refused, and the ones after it wait their turn.
      if (WRITES.has(frame.type) && connection.agentId !== undefined) {
        const refused = await this.#budget(connection.request)
        if (refused) throw refused
      }
      await handleFrame(this.#ctx, connection, frame)
    } catch (err) {
      const badKey = isNexusError(err) && err.code === 'invalid_api_key'
      if (badKey && quiet) return
      this.#sendError(connection, err, echo)
      if (badKey) connection.close(CLOSE.invalidApiKey, 'invalid agent key')
    }
    if (connection.agentId !== undefined && connection.connectDeadline !== undefined) {
      clearTimeout(connection.connectDeadline)
      connection.connectDeadline = undefined
    }
  }

  #connectTimedOut(connection: Connection): void {
    connection.connectDeadline = undefined
    if (connection.agentId !== undefined || !connection.open) return
    const seconds = this.#limits.connectTimeoutSeconds
    this.#sendError(connection, nexusError('missing_agent_id', `No connect {agent_id} within ${seconds} s of opening; closing.`), { type: 'connect' })
    connection.close(CLOSE.connectTimeout, `no connect within ${seconds} s`)
  }

  #sendError(connection: Connection, err: unknown, echo: FrameEcho): void {
    const { body, bug } = errorBody(err)
    if (bug) this.#log.error({ err, frame: echo.type }, 'hub: a frame failed')
    connection.send({
      type: 'error',
      ...(echo.request_id !== undefined ? { request_id: echo.request_id } : {}),
      ...body,
      ...(echo.type !== undefined ? { frame: echo.type } : {}),
      ...(echo.channel_id !== undefined ? { channel_id: echo.channel_id } : {}),
    })
  }

  #onClose(connection: Connection): void {
    clearTimeout(connection.connectDeadline)
    this.#ctx.delivery.detach(connection)
    const record = this.#ctx.registry.remove(connection)
    if (!record) return
    this.#ctx.services.providerLeft(record.agentId, this.#clock())
    this.#ctx.registry.forgetIfIdle(record.agentId)
  }

  /** A holder got its chat_end: the channel is done for it. */
  #endDelivered(pump: Pump): void {
    forget(this.#ctx, pump.agent.agentId, pump.channelId)
  }

  /** The session expired, or the agent is no longer a member of it: the channel ends for whoever holds it. */
  #readFailed(pump: Pump, err: unknown): void {
    if (isNexusError(err) && err.code === 'agent_not_in_session') {
      forget(this.#ctx, pump.agent.agentId, pump.channelId)
      tell(this.#ctx, pump.agent.agentId, { type: 'chat_end', channel_id: pump.channelId, ended_by: 'system', reason: 'no longer a member of this channel' })
      return
    }
    this.#channelGone(pump.channelId, [pump.agent.agentId])
  }

  #channelGone(channelId: string, also: string[] = []): void {
    const info = this.#ctx.channels.get(channelId)
    const holders = new Set([...(info?.holders ?? []), ...also])
    for (const agentId of holders) {
      const held = this.#ctx.registry.agent(agentId)?.channels.has(channelId)
      forget(this.#ctx, agentId, channelId)
      if (held) tell(this.#ctx, agentId, { type: 'chat_end', channel_id: channelId, ended_by: 'system', reason: 'the channel expired' })
    }
    this.#ctx.channels.remove(channelId)
  }

  /** Pings every socket (dropping those that missed the last one), and now and then forgets what expired. */
  #tick(): void {
    for (const connection of this.#ctx.registry.connections()) {
      if (!connection.open) continue
      if (!connection.alive) {
        connection.socket.terminate()
        continue
      }
      if (connection.congested && connection.congestedAtLastPing) {
        connection.cutOff()
        continue
      }
      connection.congestedAtLastPing = connection.congested
      connection.alive = false
      connection.socket.ping()
    }
    const now = this.#clock()
    this.#ctx.services.forgetDeparted(now)
    if (now - this.#sweptAt < SWEEP_MS) return
    this.#sweptAt = now
    this.#ctx.services.sweep(now)
    void this.#sweepChannels()
    void this.#sweepIdentities(now)
  }

  /**
   * Marks what this hub holds live as used (hourly), then forgets identities idle past their TTL.
   * Every instance does both: each keeps its own live ids fresh in the shared store.
   */
  async #sweepIdentities(now: number): Promise<void> {
    try {
      if (now - this.#keptAliveAt >= KEEP_ALIVE_MS) {
        this.#keptAliveAt = now
        const held = [...new Set([...this.#ctx.registry.agentIds(), ...this.#ctx.services.providers()])]
        for (let i = 0; i < held.length && !this.#closing; i += KEEP_ALIVE_BATCH) {
          await this.#ctx.identities.keepAlive(held.slice(i, i + KEEP_ALIVE_BATCH))
        }
      }
      if (!this.#closing) await this.#ctx.identities.forgetIdle()
    } catch (err) {
      // A failed keep-alive is tried again at the next sweep, before anything is forgotten.
      this.#keptAliveAt = -Infinity
      this.#log.error({ err }, 'hub: identity sweep failed')
    }
  }

  /** Channels whose members are all offline get no `ended` event; ask the core whether they still exist. */
  async #sweepChannels(): Promise<void> {
    for (const info of [...this.#ctx.channels.all()]) {
      if (this.#closing) return
      try {
        await this.#ctx.sessions.status(info.id)
      } catch (err) {
        if (isNexusError(err) && err.code === 'session_not_found') this.#channelGone(info.id)
        else this.#log.error({ err }, 'hub: channel sweep failed')
      }
    }
  }
}

/** A header given once, as a string (a repeated header is an array, and is ignored). */
function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}
