import { performance } from 'node:perf_hooks'

/** What a delivery-latency run found: timings, and whether every message came once and in order. */
export interface DeliveryFigures {
  sent: number
  received: number
  duplicates: number
  outOfOrder: number
  p50ms: number
  p99ms: number
  maxms: number
  valid: boolean
}

/**
 * Unmeasured seconds sent first at the full rate, in every delivery run (HTTP and hub alike), so
 * the figures are of a warm server: in the first seconds V8 is still compiling the hot paths on
 * its helper threads, and on a server pinned to one core that compiling preempts the very
 * requests being timed.
 */
export const WARMUP_SECONDS = 3

/** The p-th percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/**
 * Calls `send(seq)` for seq 0 … count-1 at `rate` per second, evenly spaced: a 1 ms timer sends
 * whatever the clock says is due, so a late tick catches up and the rate holds. Sending in
 * bursts (ten every 10 ms, say) would time the queue a burst builds in the server as if it were
 * delivery latency.
 */
export function paced(rate: number, count: number, send: (seq: number) => void): Promise<void> {
  const start = performance.now()
  let seq = 0
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - start) * rate) / 1000) + 1)
      while (seq < due) send(seq++)
      if (seq >= count) {
        clearInterval(timer)
        resolve()
      }
    }
    const timer = setInterval(tick, 1)
    tick()
  })
}

/** The text of message number `seq`: its number first, so arrival can be matched to sending. */
export const benchText = (seq: number) => `seq ${seq} ` + 'x'.repeat(240)

/**
 * Counts the arrivals of numbered messages sent over several streams (sessions, channels): when
 * each was sent, how long it took, and whether any came twice or out of its stream's order.
 * Messages numbered below `warmup` are checked but not timed.
 */
export class DeliveryTally {
  readonly #sentAt: Float64Array
  readonly #counts: Uint8Array
  readonly #lastSeq = new Map<number, number>()
  readonly #latency: number[] = []
  readonly #measured: number
  readonly #warmup: number
  #received = 0
  #duplicates = 0
  #outOfOrder = 0
  #allReceived: () => void = () => {}
  /** Resolves once every measured message has arrived. */
  readonly done = new Promise<void>((resolve) => (this.#allReceived = resolve))

  constructor(measured: number, warmup = 0) {
    this.#measured = measured
    this.#warmup = warmup
    this.#sentAt = new Float64Array(warmup + measured)
    this.#counts = new Uint8Array(warmup + measured)
  }

  sent(seq: number): void {
    this.#sentAt[seq] = performance.now()
  }

  /** A message arrived on stream `stream`; its text starts as benchText made it. */
  received(stream: number, text: string): void {
    const now = performance.now()
    const seq = Number(text.slice(4, text.indexOf(' ', 4)))
    if (this.#counts[seq]! > 0) this.#duplicates++
    this.#counts[seq]!++
    if ((this.#lastSeq.get(stream) ?? -1) > seq) this.#outOfOrder++
    this.#lastSeq.set(stream, seq)
    if (seq < this.#warmup) return
    this.#latency.push(now - this.#sentAt[seq]!)
    if (++this.#received >= this.#measured) this.#allReceived()
  }

  figures(): DeliveryFigures {
    const latency = [...this.#latency].sort((a, b) => a - b)
    return {
      sent: this.#measured,
      received: this.#received,
      duplicates: this.#duplicates,
      outOfOrder: this.#outOfOrder,
      p50ms: percentile(latency, 50),
      p99ms: percentile(latency, 99),
      maxms: latency.at(-1) ?? Number.NaN,
      valid: this.#received === this.#measured && this.#duplicates === 0 && this.#outOfOrder === 0,
    }
  }
}
