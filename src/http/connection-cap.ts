import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { nexusError } from '../core/errors.js'
import { CAPACITY_RETRY_SECONDS } from '../core/limits.js'
import { rawErrorReply } from './raw-replies.js'
import { newRequestId } from './request-id.js'

/** How long a refused connection may stay half-open waiting for its client to close it. */
const REFUSED_LINGER_MS = 2000

/**
 * Caps the connections one address holds open (MAX_CONNECTIONS_PER_IP), so one client cannot
 * take every file descriptor the process has and make the server unreachable for others. It
 * counts the TCP peer, not X-Forwarded-For: behind a proxy every connection is the proxy's.
 *
 * A connection over the cap is answered `503 capacity_exceeded` at once and closed, before any
 * of its request is read. Node's parser still reads what the client sends (so the close is a
 * clean FIN, not a reset that could lose the reply); `refused` tells the app not to serve it.
 */
export class ConnectionCap {
  readonly #max: number
  readonly #byAddress = new Map<string, number>()
  readonly #refused = new WeakSet<Socket>()

  /** `max` 0: no cap. */
  constructor(max: number) {
    this.#max = max
  }

  watch(server: Server): void {
    if (this.#max > 0) server.on('connection', (socket: Socket) => this.#admit(socket))
  }

  /** Whether this connection was turned away: its requests are not to be served. */
  refused(socket: Socket): boolean {
    return this.#refused.has(socket)
  }

  /** Connections open from `address` right now. */
  heldBy(address: string): number {
    return this.#byAddress.get(address) ?? 0
  }

  #admit(socket: Socket): void {
    const address = socket.remoteAddress
    // Gone before it was seen: nothing holds a descriptor.
    if (address === undefined) return
    const held = this.#byAddress.get(address) ?? 0
    if (held >= this.#max) return this.#refuse(socket)
    this.#byAddress.set(address, held + 1)
    socket.once('close', () => {
      const now = (this.#byAddress.get(address) ?? 1) - 1
      if (now <= 0) this.#byAddress.delete(address)
      else this.#byAddress.set(address, now)
    })
  }

  #refuse(socket: Socket): void {
    this.#refused.add(socket)
    const err = nexusError('capacity_exceeded', `At most ${this.#max} connections per address; close some and retry.`, { retryAfter: CAPACITY_RETRY_SECONDS })
    socket.on('error', () => socket.destroy())
    socket.end(rawErrorReply(err, newRequestId()))
    // A client that never closes its side must not keep the descriptor anyway.
    const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS)
    linger.unref()
    socket.once('close', () => clearTimeout(linger))
  }
}
