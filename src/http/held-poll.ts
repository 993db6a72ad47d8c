import type { FastifyReply } from 'fastify'
import type { LongPoll, PollReceiver } from '../core/long-poll.js'
import type { Page } from '../core/sessions.js'
import type { HoldGate } from './hold-gate.js'
import { pageView } from './views.js'

/**
 * One long-poll request held open: it keeps a slot of the hold gate, answers the reply when the
 * core tells it the page, and cancels the wait the moment the client goes away. One object per
 * waiter with one listener, where a promise chain held several (bench/README.md).
 */
export class HeldPoll implements PollReceiver {
  readonly #reply: FastifyReply
  readonly #holds: HoldGate
  readonly #address: string
  #poll: LongPoll | undefined
  #done = false
  // The reply's 'close' listener must be a function; this is the one closure a waiter has.
  readonly #onClose = (): void => {
    if (!this.#reply.raw.writableFinished) this.#clientGone()
  }

  /** Takes a slot for `address` (or throws capacity_exceeded) and listens for the client leaving. */
  constructor(reply: FastifyReply, holds: HoldGate, address: string) {
    this.#reply = reply
    this.#holds = holds
    this.#address = address
    // The client left while the request was on its way here: its 'close' has come and gone.
    if (reply.raw.destroyed) {
      this.#done = true
      return
    }
    holds.acquire(address)
    // `on`, not `once`: 'close' comes once anyway, and `once` wraps the listener in two more objects.
    reply.raw.on('close', this.#onClose)
  }

  /** The core's poll this request waits on, to cancel it when the client leaves. */
  waitOn(poll: LongPoll): void {
    this.#poll = poll
    if (this.#done) poll.cancel()
  }

  answer(page: Page): void {
    if (this.#finish()) this.#reply.send(pageView(page))
  }

  fail(err: unknown): void {
    if (this.#finish()) this.#reply.send(err)
  }

  #clientGone(): void {
    if (!this.#finish()) return
    this.#poll?.cancel()
  }

  /** Gives the slot back and stops listening, once; false when that was done already. */
  #finish(): boolean {
    if (this.#done) return false
    this.#done = true
    this.#holds.release(this.#address)
    this.#reply.raw.off('close', this.#onClose)
    return true
  }
}
