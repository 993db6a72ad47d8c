import type { FastifyBaseLogger } from 'fastify'
import { isNexusError } from '../core/errors.js'
import type { Page, SessionService } from '../core/sessions.js'
import type { ChannelDirectory, ChannelInfo } from './channels.js'
import type { Connection } from './connection.js'
import { messageFrame } from './frames.js'
import type { AgentChannel, AgentRecord } from './registry.js'
import type { SessionEnd, SessionEvent, SessionWatcher } from '../store/store.js'

/** Messages read per poll while catching an agent up. */
const PAGE = 200
/** After a store failure, a pump tries again this much later. */
const RETRY_MS = 1000
/** A pump paused on a socket congested by others' writes looks again this often. */
const DRAIN_POLL_MS = 20

/** What a pump needs from the hub around it. */
interface PumpHost {
  sessions: SessionService
  channel(channelId: string): ChannelInfo | undefined
  /** The pump met the channel's end (its session's final message): it is no longer addressed by service or pair. */
  ended(channelId: string): void
  /** The agent has its chat_end for the channel: forget the channel for it. */
  endDelivered(pump: Pump): void
  /** The core refused to read (the session is gone, the agent is no longer a member, the store failed). */
  readFailed(pump: Pump, err: unknown): void
}

/**
 * Delivers one channel to one connected agent, in cursor order, each message once: it reads
 * what is newer than the last cursor it handed over (with the core's poll) and writes it to the
 * socket. The agent's cursor moves only when the bytes reach the kernel, so what a dropped
 * socket never took is read again on the next connection. Kicked by the channel's watcher on
 * every new message; never more than one read at a time.
 */
export class Pump {
  readonly connection: Connection
  readonly agent: AgentRecord
  readonly channelId: string
  readonly state: AgentChannel
  readonly #host: PumpHost
  /** The last cursor handed to the socket or passed over (the agent's own messages). */
  #sent: number
  /** The last cursor of another member's message handed to the socket. */
  #wrote = -1
  #outstanding = 0
  #failed = false
  #stopped = false
  #again = false
  #running: Promise<void> | null = null
  #endSent = false
  /** Paused on a congested socket, until this pump's writes drain. */
  #draining = false
  /** Set while a message waits for room on the socket: told each time one of this pump's writes is taken. */
  #tookWrite: (() => void) | undefined
  #retry: NodeJS.Timeout | undefined

  constructor(host: PumpHost, connection: Connection, agent: AgentRecord, channelId: string, state: AgentChannel) {
    this.#host = host
    this.connection = connection
    this.agent = agent
    this.channelId = channelId
    this.state = state
    this.#sent = state.cursor
  }

  get stopped(): boolean {
    return this.#stopped
  }

  kick(): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#again = true
    this.#running ??= this.#loop()
    return this.#running
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#retry)
  }

  /** Whether another member's message at `cursor` went out on this socket, once the pump has got that far. */
  async reached(cursor: number): Promise<boolean> {
    for (let round = 0; round < 3 && this.#sent < cursor && !this.#stopped; round++) await (this.#running ?? this.kick())
    return this.#wrote >= cursor
  }

  /**
   * A message by `senderId` was stored at `cursor`. When it is this agent's own and the next
   * one, and the pump is idle, the pump passes over it as a read would and answers true;
   * otherwise false, and the caller kicks the pump to read. Skipping that read halves the store
   * reads per hub message, and with them much of what a message allocates.
   */
  passOwn(senderId: string | undefined, cursor: number): boolean {
    if (senderId !== this.agent.agentId || this.#running || this.#stopped || this.#sent !== cursor - 1) return false
    this.#passOver(cursor)
    return true
  }

  retryLater(): void {
    if (this.#stopped) return
    clearTimeout(this.#retry)
    this.#retry = setTimeout(() => void this.kick(), RETRY_MS)
    this.#retry.unref()
  }

  async #loop(): Promise<void> {
    await null // so `#running` is set before the loop can end
    try {
      while (this.#again && !this.#stopped) {
        this.#again = false
        await this.#step()
      }
    } finally {
      this.#running = null
    }
  }

  async #step(): Promise<void> {
    if (this.connection.congested) return this.#resumeWhenDrained()
    const info = this.#host.channel(this.channelId)
    let page: Page
    try {
      // Nothing handed over yet is -1: read from the start, greeting included.
      page = await this.#host.sessions.poll(this.channelId, this.agent.agentId, { after: this.#sent, limit: PAGE, sessionKey: this.state.sessionKey })
    } catch (err) {
      if (!this.#stopped) this.#host.readFailed(this, err)
      return
    }
    if (this.#stopped) return
    // The session's end, if it was ended: its final message is told as chat_end, after every
    // message before it, whichever way in ended it.
    const end = page.ended
    if (end && this.#sent >= end.cursor) return this.#sendEnd(end, end.cursor)
    for (const message of page.messages) {
      if (message.cursor <= this.#sent) continue
      if (end && message.cursor >= end.cursor) return this.#sendEnd(end, message.cursor)
      if (message.agentId === this.agent.agentId) {
        this.#passOver(message.cursor)
        continue
      }
      if (this.connection.congested) return this.#resumeWhenDrained()
      const text = JSON.stringify(messageFrame(message, this.channelId, info?.serviceId))
      const bytes = Buffer.byteLength(text)
      // Paced, not cut: a message that would not fit beside what is unread waits for the reader.
      if (this.connection.mustWait(bytes) && !(await this.#roomFor(bytes))) return
      this.#sent = message.cursor
      const cursor = message.cursor
      this.#outstanding++
      const handed = this.connection.sendText(text, (err) => {
        this.#outstanding--
        this.#tookWrite?.()
        if (err) this.#failed = true
        else this.#confirm(this.#outstanding === 0 ? this.#sent : cursor)
        if (this.#outstanding === 0 && this.#draining) {
          this.#draining = false
          void this.kick()
        }
      }, bytes)
      if (!handed) {
        this.stop()
        return
      }
      this.#wrote = cursor
    }
    if (page.hasMore) this.#again = true
  }

  /**
   * Waits until a frame of `bytes` fits beside what the socket holds unread (only a message
   * larger than half of HUB_MAX_BUFFERED_BYTES gets here: smaller ones are paced by `congested`).
   * Woken by each of this pump's writes the kernel takes, or after a short while when the
   * socket holds only others' writes. False when the pump stopped or the socket closed meanwhile.
   */
  async #roomFor(bytes: number): Promise<boolean> {
    while (this.connection.mustWait(bytes)) {
      if (this.#stopped || !this.connection.open) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_POLL_MS)
        this.#tookWrite = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#tookWrite = undefined
    }
    return !this.#stopped && this.connection.open
  }

  /** Goes on once this pump's writes have drained (or, if it has none out, shortly). */
  #resumeWhenDrained(): void {
    if (this.#outstanding > 0) {
      this.#draining = true
      return
    }
    clearTimeout(this.#retry)
    this.#retry = setTimeout(() => void this.kick(), DRAIN_POLL_MS)
    this.#retry.unref()
  }

  /** The agent's own message: not sent back, but counted as handed over. */
  #passOver(cursor: number): void {
    this.#sent = cursor
    if (this.#outstanding === 0) this.#confirm(cursor)
  }

  #confirm(cursor: number): void {
    if (!this.#failed && !this.#stopped && cursor > this.state.cursor) this.state.cursor = cursor
  }

  /**
   * The channel's end comes after its last message, on this socket as on the next one: it takes
   * the final message's place (`cursor`), which is handed over only once the frame is written.
   */
  #sendEnd(end: SessionEnd, cursor: number): void {
    if (this.#endSent) return
    this.#endSent = true
    this.#host.ended(this.channelId)
    this.connection.send({ type: 'chat_end', channel_id: this.channelId, ended_by: end.by, reason: end.reason }, (err) => {
      if (err || this.#stopped) return
      this.#sent = Math.max(this.#sent, cursor)
      this.#confirm(cursor)
      this.#host.endDelivered(this)
    })
  }
}

/** A channel watched for the pumps of its connected members: every event kicks the pumps it concerns. */
class ChannelWatch implements SessionWatcher {
  readonly pumps = new Set<Pump>()

  onSessionEvent(event: SessionEvent): void {
    if (event.type === 'message') {
      for (const p of this.pumps) if (!p.passOwn(event.agentId, event.cursor)) void p.kick()
    } else if (event.type === 'ended') {
      for (const p of this.pumps) void p.kick()
    } else {
      for (const p of this.pumps) if (p.agent.agentId === event.agentId) void p.kick()
    }
  }
}

/**
 * Pushes channels to the agents connected to this process. While at least one member of a
 * channel is connected, the hub watches the channel (`sessions.watch`) and kicks its members'
 * pumps on every new message, whoever sent it and by whichever way in.
 */
export class Delivery implements PumpHost {
  readonly sessions: SessionService
  readonly #channels: ChannelDirectory
  readonly #log: FastifyBaseLogger
  readonly #watched = new Map<string, ChannelWatch>()
  readonly #pumpsOf = new Map<Connection, Map<string, Pump>>()
  readonly #onEndDelivered: (pump: Pump) => void
  readonly #onReadFailed: (pump: Pump, err: unknown) => void

  constructor(deps: {
    sessions: SessionService
    channels: ChannelDirectory
    log: FastifyBaseLogger
    endDelivered: (pump: Pump) => void
    readFailed: (pump: Pump, err: unknown) => void
  }) {
    this.sessions = deps.sessions
    this.#channels = deps.channels
    this.#log = deps.log
    this.#onEndDelivered = deps.endDelivered
    this.#onReadFailed = deps.readFailed
  }

  channel(channelId: string): ChannelInfo | undefined {
    return this.#channels.get(channelId)
  }

  ended(channelId: string): void {
    this.#channels.retire(channelId)
  }

  endDelivered(pump: Pump): void {
    this.#onEndDelivered(pump)
  }

  readFailed(pump: Pump, err: unknown): void {
    if (isNexusError(err) && (err.code === 'session_not_found' || err.code === 'agent_not_in_session')) {
      this.#onReadFailed(pump, err)
      return
    }
    this.#log.error({ err, channelId: pump.channelId }, 'hub delivery failed; retrying')
    pump.retryLater()
  }

  /** Starts delivering every channel of a newly connected agent, from its cursors (or those the client gave). */
  attach(connection: Connection, agent: AgentRecord, cursors: Record<string, number> | undefined): void {
    for (const [channelId, state] of agent.channels) {
      const given = cursors?.[channelId]
      if (given !== undefined) state.cursor = given
      this.#start(connection, agent, channelId, state)
    }
  }

  /** Starts delivering one channel an online agent just got (accepted, made, or first used). */
  follow(agent: AgentRecord, channelId: string): void {
    const connection = agent.connection
    const state = agent.channels.get(channelId)
    if (!connection || !state || this.#pumpsOf.get(connection)?.has(channelId)) return
    this.#start(connection, agent, channelId, state)
  }

  /** Stops every pump of a connection that closed or was replaced. */
  detach(connection: Connection): void {
    const pumps = this.#pumpsOf.get(connection)
    if (!pumps) return
    this.#pumpsOf.delete(connection)
    for (const pump of pumps.values()) this.#drop(pump)
  }

  /** Stops delivering one channel to one connection. */
  unfollow(connection: Connection, channelId: string): void {
    const pumps = this.#pumpsOf.get(connection)
    const pump = pumps?.get(channelId)
    if (!pumps || !pump) return
    pumps.delete(channelId)
    this.#drop(pump)
  }

  /** Kicks every pump of a channel (after it ended: they send chat_end once caught up, as the store's event would have them). */
  kick(channelId: string): void {
    for (const pump of this.#watched.get(channelId)?.pumps ?? []) void pump.kick()
  }

  /**
   * After a send stored `cursor` in `channelId`: whether it went out on the live socket of some
   * member other than the sender. Waits for those members' pumps to get there, one after the
   * other (they run at once anyway), and answers at the first that did: a channel is usually
   * two members, and arrays and Promise.all for one pump cost every hub message. The set is
   * walked live: a pump that leaves meanwhile is skipped, one that joins is asked too.
   */
  async delivered(channelId: string, senderId: string, cursor: number): Promise<boolean> {
    const pumps = this.#watched.get(channelId)?.pumps
    if (!pumps) return false
    for (const pump of pumps) {
      if (pump.agent.agentId !== senderId && (await pump.reached(cursor))) return true
    }
    return false
  }

  close(): void {
    for (const connection of [...this.#pumpsOf.keys()]) this.detach(connection)
  }

  #start(connection: Connection, agent: AgentRecord, channelId: string, state: AgentChannel): void {
    let pumps = this.#pumpsOf.get(connection)
    if (!pumps) {
      pumps = new Map()
      this.#pumpsOf.set(connection, pumps)
    }
    const pump = new Pump(this, connection, agent, channelId, state)
    pumps.set(channelId, pump)
    let watched = this.#watched.get(channelId)
    if (!watched) {
      watched = new ChannelWatch()
      this.sessions.watch(channelId, watched)
      this.#watched.set(channelId, watched)
    }
    watched.pumps.add(pump)
    void pump.kick()
  }

  #drop(pump: Pump): void {
    pump.stop()
    const watched = this.#watched.get(pump.channelId)
    if (!watched) return
    watched.pumps.delete(pump)
    if (watched.pumps.size === 0) {
      this.sessions.unwatch(pump.channelId, watched)
      this.#watched.delete(pump.channelId)
    }
  }
}
