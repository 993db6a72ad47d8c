import { addressGroup } from './addresses.js'
import type { Clock } from './clock.js'
import { nexusError } from './errors.js'
import type { SessionStore } from '../store/store.js'

/**
 * The budget of failed pairing-code lookups per client address (an IPv6 address by its /64):
 * what keeps guessing codes hopeless (references/api.md, "A guesser's odds"). Each lookup is
 * counted before it is made, so concurrent guesses cannot slip past the count, and given back
 * when it found what it asked for. Over the budget every lookup is refused, a right one too,
 * until the window ends: otherwise a guesser would keep guessing and only its misses would be
 * refused. The count lives in the store, so on Redis it holds across instances.
 */
export class GuessBudget {
  readonly #store: SessionStore
  readonly #clock: Clock
  readonly #max: number
  readonly #windowSeconds: number

  constructor(deps: { store: SessionStore; clock: Clock; max: number; windowSeconds: number }) {
    this.#store = deps.store
    this.#clock = deps.clock
    this.#max = deps.max
    this.#windowSeconds = deps.windowSeconds
  }

  /** Counts a lookup from `address` as a failure; refuses it with 429 once the address is over budget. */
  async spend(address: string): Promise<void> {
    const now = this.#clock()
    const { count, resetAt } = await this.#store.countAttempt(budgetKey(address), this.#windowSeconds * 1000, now)
    if (count <= this.#max) return
    const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000))
    throw nexusError(
      'rate_limit_exceeded',
      `Too many failed pairing-code lookups from this address: at most ${this.#max} per ${this.#windowSeconds} s. Retry in ${retryAfter} s.`,
      { retryAfter },
    )
  }

  /** The lookup found a live code: it was no failure. */
  async refund(address: string): Promise<void> {
    await this.#store.uncountAttempt(budgetKey(address), this.#clock())
  }
}

function budgetKey(address: string): string {
  return `pair:${addressGroup(address)}`
}
