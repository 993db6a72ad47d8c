import type { SessionEvent, SessionWatcher } from '../store/store.js'
import type { Page, PollRequest } from './sessions.js'

/** Why a wait ended: an event, the timeout, the server shutting down, or the client going away. */
export type WakeReason = 'message' | 'ended' | 'removed' | 'timeout' | 'released' | 'gone'

/** Where a long-poll's outcome goes: the way in that holds the client's request. Told once. */
export interface PollReceiver {
  answer(page: Page): void
  fail(err: unknown): void
}

/** The rest of a long-poll once its wait ends: the core's, one function shared by every poll. */
export type Resume = (poll: LongPoll, reason: WakeReason) => void

/**
 * One long-poll in progress: what it reads, whom it answers, and its wait. It is itself the
 * store's watcher and its timer's argument, so an idle waiter is this one object, one timer and
 * the request its way in already holds. Thousands wait at once; every closure or promise per
 * waiter shows in the memory per waiter (bench/README.md).
 *
 * It is watching from before the core's first read, so a message between that read and
 * `wait()` is not lost: the event is kept and the wait ends as soon as it starts.
 */
export class LongPoll implements SessionWatcher {
  readonly sessionId: string
  readonly agentId: string
  readonly request: PollRequest
  /** The key digest every read of this poll must show (REQUIRE_KEY_FOR_READS), else undefined. */
  readonly keyHash: string | undefined
  readonly #receiver: PollReceiver
  readonly #resume: Resume
  /** The first reason the wait should end, kept from any time before it ends. */
  #reason: WakeReason | undefined
  #gone = false
  #over = false
  /** Set while the wait is on: the poll is waiting exactly when it has a timer. */
  #timer: NodeJS.Timeout | undefined
  #empty: Page | undefined

  constructor(sessionId: string, agentId: string, request: PollRequest, keyHash: string | undefined, receiver: PollReceiver, resume: Resume) {
    this.sessionId = sessionId
    this.agentId = agentId
    this.request = request
    this.keyHash = keyHash
    this.#receiver = receiver
    this.#resume = resume
  }

  /** The first page read, empty, once the wait has begun. */
  get emptyPage(): Page | undefined {
    return this.#empty
  }

  /** The client went away: nothing is answered any more. */
  get gone(): boolean {
    return this.#gone
  }

  onSessionEvent(event: SessionEvent): void {
    if (event.type === 'message') {
      if (event.cursor > (this.request.after ?? -1)) this.#wake('message')
    } else if (event.type === 'ended') this.#wake('ended')
    else if (event.agentId === this.agentId) this.#wake('removed')
  }

  /**
   * Waits up to `ms` for a reason to end; ends at once if one came already. `empty` is the page
   * the core read first, with nothing new in it: the answer when the wait ends with nothing new,
   * kept so that a timeout costs no second read of the store.
   */
  wait(ms: number, empty: Page): void {
    if (this.#over) return
    this.#empty = empty
    if (this.#gone) return this.#end('gone')
    if (this.#reason) return this.#end(this.#reason)
    // The poll is the timer's argument, so the timer needs no closure of its own.
    this.#timer = setTimeout(LongPoll.#timedOut, ms, this)
  }

  /** Ends the wait now: the server is shutting down. */
  release(): void {
    this.#wake('released')
  }

  /** The client went away: end the wait (or never start one) and answer nothing. */
  cancel(): void {
    this.#gone = true
    if (this.#timer) this.#end('gone')
  }

  /** Called by the core when the poll is over: no timer is left behind, no event heard. */
  stop(): void {
    this.#over = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  answer(page: Page): void {
    if (!this.#gone) this.#receiver.answer(page)
  }

  fail(err: unknown): void {
    if (!this.#gone) this.#receiver.fail(err)
  }

  static #timedOut(poll: LongPoll): void {
    poll.#wake('timeout')
  }

  #wake(reason: WakeReason): void {
    if (this.#over || this.#reason) return
    this.#reason = reason
    if (this.#timer) this.#end(reason)
  }

  #end(reason: WakeReason): void {
    this.stop()
    this.#resume(this, reason)
  }
}
