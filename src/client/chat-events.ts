import type { HubEvent } from './chat-types.js'

/**
 * One `messages()` iterator: the events pushed to it, handed out in order to `for await`. Ends
 * when the client disconnects, or when the loop is left.
 */
export class EventQueue implements AsyncIterableIterator<HubEvent> {
  readonly #items: HubEvent[] = []
  #wake: ((result: IteratorResult<HubEvent>) => void) | undefined
  #done = false
  readonly #onReturn: (queue: EventQueue) => void

  constructor(onReturn: (queue: EventQueue) => void) {
    this.#onReturn = onReturn
  }

  push(event: HubEvent): void {
    if (this.#done) return
    if (this.#wake) {
      const wake = this.#wake
      this.#wake = undefined
      wake({ value: event, done: false })
    } else {
      this.#items.push(event)
    }
  }

  /** No more events: what is queued is still handed out, then the loop ends. */
  end(): void {
    this.#done = true
    if (this.#wake && this.#items.length === 0) {
      const wake = this.#wake
      this.#wake = undefined
      wake({ value: undefined, done: true })
    }
  }

  next(): Promise<IteratorResult<HubEvent>> {
    const item = this.#items.shift()
    if (item) return Promise.resolve({ value: item, done: false })
    if (this.#done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.#wake = resolve
    })
  }

  return(): Promise<IteratorResult<HubEvent>> {
    this.#items.length = 0
    this.end()
    this.#onReturn(this)
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<HubEvent> {
    return this
  }
}
