import { CAPACITY_RETRY_SECONDS } from '../core/limits.js'
import { nexusError } from '../core/errors.js'

/**
 * Counts the requests held open (long-polls, event streams) overall and per client address,
 * and refuses one more beyond either cap with `capacity_exceeded`, so a single client cannot
 * hold every slot and the server's memory stays bounded.
 */
export class HoldGate {
  readonly #maxTotal: number
  readonly #maxPerAddress: number
  readonly #byAddress = new Map<string, number>()
  #total = 0

  constructor(limits: { maxTotal: number; maxPerAddress: number }) {
    this.#maxTotal = limits.maxTotal
    this.#maxPerAddress = limits.maxPerAddress
  }

  get held(): number {
    return this.#total
  }

  /** Takes a slot for `address`, or throws. The holder gives it back with `release`, once. */
  acquire(address: string): void {
    const mine = this.#byAddress.get(address) ?? 0
    if (this.#total >= this.#maxTotal) {
      throw nexusError('capacity_exceeded', 'The server holds its maximum of waiting requests; retry later.', { retryAfter: CAPACITY_RETRY_SECONDS })
    }
    if (mine >= this.#maxPerAddress) {
      throw nexusError('capacity_exceeded', `At most ${this.#maxPerAddress} waiting requests per address; retry later.`, { retryAfter: CAPACITY_RETRY_SECONDS })
    }
    this.#total++
    this.#byAddress.set(address, mine + 1)
  }

  /**
   * Gives back a slot `address` took. A method rather than a function handed out by `acquire`:
   * that function and its closure were two more objects on every idle waiter.
   */
  release(address: string): void {
    const mine = this.#byAddress.get(address)
    if (mine === undefined) return
    this.#total--
    if (mine <= 1) this.#byAddress.delete(address)
    else this.#byAddress.set(address, mine - 1)
  }
}
