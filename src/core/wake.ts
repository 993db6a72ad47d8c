import type { SessionEvent, SessionStore } from '../store/store.js'

export type WakeReason = 'message' | 'ended' | 'removed' | 'timeout' | 'released'

/**
 * Waits for something to happen in a session that a reader after cursor `after` cares about:
 * a newer message, the session ending, or the reader being removed. It subscribes on creation,
 * before the caller's first read, so an event between that read and `wait()` is not lost. No
 * timer polls the store: the store calls us.
 */
export class Wake {
  #reason: WakeReason | undefined
  #resolve: ((reason: WakeReason) => void) | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #unwatch: () => void

  constructor(store: SessionStore, sessionId: string, agentId: string, after: number) {
    this.#unwatch = store.watch(sessionId, (event: SessionEvent) => {
      if (event.type === 'message' && event.cursor > after) this.#settle('message')
      else if (event.type === 'ended') this.#settle('ended')
      else if (event.type === 'member_removed' && event.agentId === agentId) this.#settle('removed')
    })
  }

  /** Resolves with the first reason: an event (perhaps one already seen), the timeout, or release(). */
  wait(ms: number): Promise<WakeReason> {
    if (this.#reason) return Promise.resolve(this.#reason)
    return new Promise((resolve) => {
      this.#resolve = resolve
      this.#timer = setTimeout(() => this.#settle('timeout'), ms)
    })
  }

  /** Ends the wait at once (client gone, server shutting down). */
  release(): void {
    this.#settle('released')
  }

  stop(): void {
    this.#unwatch()
    if (this.#timer) clearTimeout(this.#timer)
  }

  #settle(reason: WakeReason): void {
    if (this.#reason) return
    this.#reason = reason
    if (this.#timer) clearTimeout(this.#timer)
    this.#resolve?.(reason)
  }
}

/**
 * How a way in ends a long-poll early (its client went away). A plain object rather than an
 * AbortController: thousands of idle waiters each hold one, and an AbortSignal with a listener
 * costs about 1.2 KB where this costs a few dozen bytes.
 */
export class WaitHandle {
  #gone = false
  #wake: Wake | undefined

  get gone(): boolean {
    return this.#gone
  }

  /** The client is gone: end the wait now, or never start one. */
  cancel(): void {
    this.#gone = true
    this.#wake?.release()
  }

  /** Called by the core while a wait is in progress. */
  attach(wake: Wake | undefined): void {
    this.#wake = wake
  }
}
