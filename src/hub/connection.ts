import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { WebSocket } from 'ws'
import type { ServerFrame } from './frames.js'

/** Close codes the hub uses (4000–4999 are the application's own). */
export const CLOSE = {
  /** The server is stopping: reconnect later. */
  goingAway: 1001,
  /** The hub holds its maximum of connections: reconnect later. */
  tryAgainLater: 1013,
  /** Another connection showed this agent's key and took its place: do not reconnect. */
  replaced: 4001,
  /** The `connect` showed no agent key, or a wrong one (4401: as HTTP's 401): do not reconnect with the same key. */
  invalidApiKey: 4401,
  /** The socket said no `connect` within HUB_CONNECT_TIMEOUT_SECONDS of opening (4408: as HTTP's 408). */
  connectTimeout: 4408,
} as const

export interface ConnectionLimits {
  framesPerSecond: number
  maxBufferedBytes: number
}

/** Frames waiting to be handled on one connection; beyond it a client is only flooding. */
const MAX_QUEUED_FRAMES = 256
/** A reply waiting for a congested socket to drain looks again this often. */
const DRAIN_POLL_MS = 20

/**
 * One WebSocket: who it speaks for (once `connect` has said), its frame budget, its liveness,
 * and the one way frames go out. Frames are handled one at a time, in the order they came, so
 * a client's messages are stored in the order it sent them.
 */
export class Connection {
  readonly clientId = randomUUID()
  readonly socket: WebSocket
  /** The upgrade: its client address (as the rate limit and the per-address cap count it). */
  readonly request: FastifyRequest
  /** `request.ip`, read once (fastify works it out anew on each read when it trusts a proxy). */
  readonly address: string
  agentId: string | undefined
  /** Closes the socket if it has not said `connect` by then; cleared once it has. */
  connectDeadline: NodeJS.Timeout | undefined
  /** Cleared by each ping, set again by the pong (or any frame): a socket still unset at the next ping is dead. */
  alive = true
  readonly #limits: ConnectionLimits
  readonly #onSlow: (connection: Connection) => void
  #tokens: number
  #refilledAt = Date.now()
  #tail: Promise<void> = Promise.resolve()
  #queued = 0

  constructor(socket: WebSocket, request: FastifyRequest, limits: ConnectionLimits, onSlow: (connection: Connection) => void) {
    this.socket = socket
    this.request = request
    this.address = request.ip
    this.#limits = limits
    this.#onSlow = onSlow
    this.#tokens = limits.framesPerSecond
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN
  }

  /**
   * More than half the cap waits unread: deliveries pause until it drains (a reader catching up
   * on a long backlog is paced, not cut off), and one still congested at two pings in a row is
   * too slow and cut off (Hub's tick).
   */
  get congested(): boolean {
    return this.socket.bufferedAmount > this.#limits.maxBufferedBytes / 2
  }

  /** Set at a ping that found the socket congested; a second such ping cuts it off. */
  congestedAtLastPing = false

  /** Drops a reader that cannot keep up. What it missed waits at its cursor for its next connection. */
  cutOff(): void {
    this.#onSlow(this)
    this.socket.terminate()
  }

  /**
   * Hands a frame to the socket. `written` is told when the bytes reached the kernel, or why
   * they never will. A reader whose socket would hold more than the cap unread with this frame
   * is cut off instead: its buffer never grows past the cap, whichever path writes (deliveries,
   * replies, history, what waited while it was offline), and what it missed waits at its cursor.
   */
  send(frame: ServerFrame, written?: (err?: Error) => void): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) {
      written?.(new Error('the socket is closed'))
      return false
    }
    return this.sendText(JSON.stringify(frame), written)
  }

  /** `send` for a frame already serialized (`bytes`: its length in UTF-8, when the caller knows it). */
  sendText(text: string, written?: (err?: Error) => void, bytes = Buffer.byteLength(text)): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) {
      written?.(new Error('the socket is closed'))
      return false
    }
    if (this.socket.bufferedAmount + bytes > this.#limits.maxBufferedBytes) {
      written?.(new Error('the reader is too slow'))
      this.cutOff()
      return false
    }
    this.socket.send(text, written)
    return true
  }

  /**
   * Whether a frame of `bytes` should wait for the socket to drain first: it would not fit
   * under the cap beside what is unread. On an empty socket nothing is worth waiting for (a
   * frame larger than the cap on its own is the sender's to refuse).
   */
  mustWait(bytes: number): boolean {
    const buffered = this.socket.bufferedAmount
    return buffered > 0 && buffered + bytes > this.#limits.maxBufferedBytes
  }

  /**
   * Resolves once the socket is no longer congested (true), or is closed (false): a reply that
   * can be large (a history) waits for the reader to catch up rather than pile up unread. The
   * frames behind it on this connection wait too, so a client that never reads stops being
   * served, and the ping tick cuts it off.
   */
  async whenDrained(): Promise<boolean> {
    while (this.open && this.congested) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
    return this.open
  }

  /** Takes one frame from the budget (a token bucket: `framesPerSecond`, with as much burst). */
  takeToken(now = Date.now()): boolean {
    const rate = this.#limits.framesPerSecond
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate)
    this.#refilledAt = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Runs `task` after every frame taken before it; false when too many already wait. */
  enqueue(task: () => Promise<void>): boolean {
    if (this.#queued >= MAX_QUEUED_FRAMES) return false
    this.#queued++
    this.#tail = this.#tail.then(task).finally(() => {
      this.#queued--
    })
    return true
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code, reason)
  }
}
