import type { RedisClient } from '../redis.js'
import type { SessionEvent, SessionWatcher } from '../store.js'

/** The subscriber connection: a single Redis, or a Cluster client (which subscribes on one of its nodes). */
type Subscriber = RedisClient

interface Channel {
  name: string
  sessionId: string
  watchers: Set<SessionWatcher>
  /** True once Redis has confirmed the subscription (and until the connection drops). */
  active: boolean
  /** The subscription under way, if any. */
  pending: Promise<void> | undefined
  /** Ends the subscription some time after the last watcher left (long-polls come right back). */
  linger: NodeJS.Timeout | undefined
  /** The highest cursor announced to this instance's watchers. */
  lastCursor: number
}

export interface SessionEventsOptions {
  /** Opens the subscriber connection (a duplicate of the store's client). */
  connect: () => Subscriber
  channelOf: (sessionId: string) => string
  /** For each session, its last cursor, or null when it no longer exists (after a reconnect). */
  lastCursors: (sessionIds: string[]) => Promise<(number | null)[]>
  /** How long to wait for the subscriber connection when it has never been up yet. */
  connectWaitMs: number
  lingerMs: number
  unavailable: () => Error
  report: (message: string, err?: unknown) => void
}

/**
 * Session events across instances, on one subscriber connection per store. Scripts publish on a
 * channel per session (`<prefix>{<id>}:events`, in the session's own hash slot); this instance
 * subscribes to the channels of the sessions it has watchers for, and fans each notice out to
 * them. Nothing is received for sessions nobody here waits on.
 *
 * A subscription takes a round trip to become active, so `ready(id)` gives the promise of it:
 * the store awaits it before any command on that session, so every change made after `watch()`
 * (by this or any instance) and after the caller's own next command is sure to be heard.
 */
export class SessionEvents {
  readonly #options: SessionEventsOptions
  readonly #channels = new Map<string, Channel>()
  #sub: Subscriber | undefined
  /** The wait for the first connection, shared by every subscription made meanwhile. */
  #firstConnect: Promise<Subscriber> | undefined
  #everReady = false
  #closed = false

  constructor(options: SessionEventsOptions) {
    this.#options = options
  }

  watch(sessionId: string, watcher: SessionWatcher): void {
    const name = this.#options.channelOf(sessionId)
    let channel = this.#channels.get(name)
    if (!channel) {
      channel = { name, sessionId, watchers: new Set(), active: false, pending: undefined, linger: undefined, lastCursor: -1 }
      this.#channels.set(name, channel)
    }
    channel.watchers.add(watcher)
    if (channel.linger) {
      clearTimeout(channel.linger)
      channel.linger = undefined
    }
    if (!channel.active && !this.#closed) this.#subscribe(channel).catch(() => {})
  }

  unwatch(sessionId: string, watcher: SessionWatcher): void {
    const channel = this.#channels.get(this.#options.channelOf(sessionId))
    if (!channel?.watchers.delete(watcher)) return
    if (channel.watchers.size > 0 || channel.linger || this.#closed) return
    channel.linger = setTimeout(() => this.#drop(channel), this.#options.lingerMs)
    channel.linger.unref()
  }

  /** Undefined when events of the session are being delivered (or nobody watches it); else the subscription's promise. */
  ready(sessionId: string): Promise<void> | undefined {
    if (this.#channels.size === 0) return undefined
    const channel = this.#channels.get(this.#options.channelOf(sessionId))
    if (!channel || channel.active || this.#closed) return undefined
    return this.#subscribe(channel)
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const channel of this.#channels.values()) if (channel.linger) clearTimeout(channel.linger)
    this.#channels.clear()
    const sub = this.#sub
    this.#sub = undefined
    if (!sub) return
    if (sub.status === 'ready') await sub.quit().catch(() => sub.disconnect())
    else sub.disconnect()
  }

  #subscribe(channel: Channel): Promise<void> {
    channel.pending ??= (async () => {
      const sub = await this.#connection()
      await sub.subscribe(channel.name)
      channel.active = true
    })().finally(() => {
      channel.pending = undefined
    })
    return channel.pending
  }

  #drop(channel: Channel): void {
    channel.linger = undefined
    if (channel.watchers.size > 0 || this.#channels.get(channel.name) !== channel) return
    this.#channels.delete(channel.name)
    if (this.#sub?.status === 'ready') this.#sub.unsubscribe(channel.name).catch(() => {})
  }

  /** The subscriber connection once up: waited for at start, refused while it is down later. */
  #connection(): Promise<Subscriber> {
    const sub = (this.#sub ??= this.#open())
    if (sub.status === 'ready') return Promise.resolve(sub)
    if (this.#everReady) return Promise.reject(this.#options.unavailable())
    this.#firstConnect ??= new Promise<Subscriber>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer)
        sub.off('ready', onReady)
        sub.off('end', onEnd)
        this.#firstConnect = undefined
        if (err) reject(err)
        else resolve(sub)
      }
      const onReady = () => done()
      const onEnd = () => done(this.#options.unavailable())
      const timer = setTimeout(() => done(this.#options.unavailable()), this.#options.connectWaitMs)
      sub.once('ready', onReady)
      sub.once('end', onEnd)
    })
    return this.#firstConnect
  }

  #open(): Subscriber {
    const sub = this.#options.connect()
    let down = false
    sub.on('message', (name: string, payload: string) => this.#deliver(name, payload))
    sub.on('error', (err: Error) => {
      if (!down) this.#options.report('redis subscriber connection failed', err)
      down = true
    })
    sub.on('close', () => {
      for (const channel of this.#channels.values()) channel.active = false
    })
    sub.on('ready', () => {
      const reconnected = this.#everReady
      this.#everReady = true
      down = false
      if (reconnected) this.#resubscribe(sub).catch((err: unknown) => this.#options.report('redis resubscribe failed', err))
    })
    return sub
  }

  /**
   * After a reconnect: subscribe again, then tell each watcher the session's last cursor (or
   * that it ended), since notices published while the connection was down are lost. A waiter
   * compares the cursor with its own and wakes only if something is new to it.
   */
  async #resubscribe(sub: Subscriber): Promise<void> {
    const channels = [...this.#channels.values()]
    if (channels.length === 0) return
    await sub.subscribe(...channels.map((channel) => channel.name))
    for (const channel of channels) channel.active = true
    const cursors = await this.#options.lastCursors(channels.map((channel) => channel.sessionId))
    channels.forEach((channel, i) => {
      const cursor = cursors[i]
      if (cursor === null) this.#emit(channel, { type: 'ended', sessionId: channel.sessionId })
      else if (cursor !== undefined && cursor > channel.lastCursor) {
        this.#emit(channel, { type: 'message', sessionId: channel.sessionId, cursor })
      }
    })
  }

  #deliver(name: string, payload: string): void {
    const channel = this.#channels.get(name)
    if (!channel) return
    const sessionId = channel.sessionId
    if (payload.startsWith('m:')) this.#emit(channel, { type: 'message', sessionId, cursor: Number(payload.slice(2)) })
    else if (payload.startsWith('r:')) this.#emit(channel, { type: 'member_removed', sessionId, agentId: payload.slice(2) })
    else if (payload === 'e') this.#emit(channel, { type: 'ended', sessionId })
  }

  #emit(channel: Channel, event: SessionEvent): void {
    if (event.type === 'message') {
      if (event.cursor <= channel.lastCursor) return
      channel.lastCursor = event.cursor
    }
    for (const watcher of [...channel.watchers]) watcher.onSessionEvent(event)
  }
}
