import { randomUUID } from 'node:crypto'
import type { WebhookService } from '../core/webhooks.js'
import type { SessionEvent, SessionWatcher, WebhookRef } from '../store/store.js'
import { messageView } from '../http/views.js'
import { retryDelay } from './backoff.js'
import type { Deliverer } from './deliver.js'
import { deliveryId, signedHeaders } from './signer.js'

/** How often the due index is scanned: retries, and work another instance or a restart left. */
const SCAN_INTERVAL_MS = 1000
/** A webhook with nothing pending is looked at again this often, so nothing is ever stranded. */
const RECHECK_MS = 30_000

export interface WorkerOptions {
  webhooks: WebhookService
  deliverer: Deliverer
  timeoutMs: number
  maxPerHost: number
  maxOutstanding: number
  retryBaseMs: number
  retryMaxMs: number
  log: { warn(obj: object, msg: string): void }
  scanIntervalMs?: number
}

/**
 * Delivers each webhook's messages, in cursor order, at least once. For each webhook: take its
 * lease in the store (so no two instances deliver the same batch at once), read what is after
 * its cursor, POST it signed, and settle: a 2xx moves the cursor, a failure schedules a retry
 * with backoff. Woken by message events of the sessions it knows to have webhooks, by its own
 * retry timers, and by a scan of the store's due index.
 */
export class WebhookWorker implements SessionWatcher {
  readonly #o: WorkerOptions
  /** Who this instance is, for leases. */
  readonly #holder = `instance-${randomUUID()}`
  /** Members with webhooks, by session: the sessions watched. */
  readonly #known = new Map<string, Set<string>>()
  /** Webhooks being worked on, and whether another turn was asked for meanwhile. */
  readonly #running = new Map<string, { again: boolean }>()
  readonly #perHost = new Map<string, number>()
  /** Webhooks that found their host at its cap, woken in turn as its deliveries end (by key, once each). */
  readonly #hostQueue = new Map<string, Map<string, WebhookRef>>()
  /** The host each webhook delivered to last, so a busy host is waited for without a trip to the store. */
  readonly #hostOf = new Map<string, string>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #scanner: NodeJS.Timeout | undefined
  #scanning = false
  #closed = false
  readonly #idle = new Set<() => void>()

  constructor(options: WorkerOptions) {
    this.#o = options
  }

  start(): void {
    this.#scanner = setInterval(() => this.#scan(), this.#o.scanIntervalMs ?? SCAN_INTERVAL_MS)
    this.#scanner.unref()
    this.#scan()
  }

  /** A webhook was set here: watch its session and deliver what is due. */
  noticeSet(ref: WebhookRef): void {
    this.#know(ref)
    this.#kick(ref)
  }

  onSessionEvent(event: SessionEvent): void {
    const agents = this.#known.get(event.sessionId)
    if (!agents) return
    if (event.type === 'ended') return this.#forget(event.sessionId)
    if (event.type === 'member_removed') {
      agents.delete(event.agentId)
      if (agents.size === 0) this.#forget(event.sessionId)
      return
    }
    for (const agentId of agents) if (agentId !== event.agentId) this.#kick({ sessionId: event.sessionId, agentId })
  }

  /** Stops timers and waits (up to `waitMs`) for deliveries in flight to settle. */
  async close(waitMs = 2000): Promise<void> {
    this.#closed = true
    clearInterval(this.#scanner)
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#hostQueue.clear()
    for (const sessionId of [...this.#known.keys()]) this.#forget(sessionId)
    if (this.#running.size === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#idle.add(done)
    })
  }

  /** Deliveries in flight: for tests and metrics. */
  get inFlight(): number {
    return this.#running.size
  }

  #know(ref: WebhookRef): void {
    let agents = this.#known.get(ref.sessionId)
    if (!agents) {
      agents = new Set()
      this.#known.set(ref.sessionId, agents)
      this.#o.webhooks.watch(ref.sessionId, this)
    }
    agents.add(ref.agentId)
  }

  #forget(sessionId: string): void {
    const agents = this.#known.get(sessionId)
    if (!agents) return
    for (const agentId of agents) this.#hostOf.delete(refKey({ sessionId, agentId }))
    this.#known.delete(sessionId)
    this.#o.webhooks.unwatch(sessionId, this)
  }

  #scan(): void {
    if (this.#closed || this.#scanning) return
    const room = this.#o.maxOutstanding - this.#running.size
    if (room <= 0) return
    this.#scanning = true
    this.#o.webhooks.due(room).then(
      (refs) => {
        this.#scanning = false
        for (const ref of refs) this.#kick(ref)
      },
      (err: unknown) => {
        this.#scanning = false
        this.#o.log.warn({ err: { message: (err as Error).message } }, 'webhook scan failed')
      },
    )
  }

  /** Works on a webhook now, or once its current turn ends; beyond the outstanding cap, the scan finds it later. */
  #kick(ref: WebhookRef): void {
    if (this.#closed) return
    const key = refKey(ref)
    const running = this.#running.get(key)
    if (running) {
      running.again = true
      return
    }
    if (this.#running.size >= this.#o.maxOutstanding) return
    const host = this.#hostOf.get(key)
    if (host !== undefined && (this.#perHost.get(host) ?? 0) >= this.#o.maxPerHost) return this.#waitForHost(host, key, ref)
    const turn = { again: false }
    this.#running.set(key, turn)
    const loop = async () => {
      do {
        turn.again = false
        if (await this.#turn(ref)) turn.again = true
      } while (turn.again && !this.#closed)
    }
    loop()
      .catch((err: unknown) => this.#o.log.warn({ err: { message: (err as Error).message } }, 'webhook delivery failed'))
      .finally(() => {
        this.#running.delete(key)
        // Asked for again after the loop's last check: start over rather than lose the wake.
        if (turn.again && !this.#closed) return this.#kick(ref)
        // A turn that ended without holding its host's slot passes the wake on down the queue.
        const host = this.#hostOf.get(key)
        if (host !== undefined && (this.#perHost.get(host) ?? 0) < this.#o.maxPerHost) this.#wakeHost(host)
        if (this.#running.size === 0) for (const done of [...this.#idle]) done()
      })
  }

  /** One lease, one batch, one settle. True when more waits and another turn should follow at once. */
  async #turn(ref: WebhookRef): Promise<boolean> {
    const o = this.#o
    const now = o.webhooks.now()
    // Long enough for the call and the reads around it; a holder that dies frees it after this.
    const leased = await o.webhooks.lease(ref, this.#holder, now + o.timeoutMs * 2 + 5000)
    if (!leased.ok) {
      if (leased.reason === 'gone') {
        this.#known.get(ref.sessionId)?.delete(ref.agentId)
        this.#hostOf.delete(refKey(ref))
      }
      return false
    }
    this.#know(ref)
    const { webhook } = leased
    const recheckAt = () => o.webhooks.now() + RECHECK_MS
    if (webhook.cursor >= leased.lastCursor) {
      return (await o.webhooks.settle(ref, this.#holder, { kind: 'idle', recheckAt: recheckAt() })) === 'more'
    }
    const host = hostOf(webhook.url)
    this.#hostOf.set(refKey(ref), host)
    if ((this.#perHost.get(host) ?? 0) >= o.maxPerHost) {
      // The host is busy with this instance's other deliveries: wait for one of them to end (the
      // messages piling up meanwhile go in one batch). Due now in the store, should this instance go.
      await o.webhooks.settle(ref, this.#holder, { kind: 'idle', recheckAt: o.webhooks.now() })
      this.#waitForHost(host, refKey(ref), ref)
      return false
    }
    const batch = await o.webhooks.batch(ref, webhook.cursor)
    if (!batch) {
      await o.webhooks.settle(ref, this.#holder, { kind: 'idle', recheckAt: recheckAt() })
      return false
    }
    if (batch.messages.length === 0) {
      // Only the member's own messages: passed over without a call.
      return (await o.webhooks.settle(ref, this.#holder, { kind: 'idle', recheckAt: recheckAt(), cursor: batch.cursor })) === 'more'
    }
    const body = JSON.stringify({
      type: 'messages',
      sessionId: ref.sessionId,
      agentId: ref.agentId,
      messages: batch.messages.map(messageView),
      cursor: String(batch.cursor),
      ...(batch.gap ? { gap: true } : {}),
    })
    const id = deliveryId(ref.sessionId, ref.agentId, webhook.cursor, batch.cursor)
    this.#perHost.set(host, (this.#perHost.get(host) ?? 0) + 1)
    let result
    try {
      result = await o.deliverer.post(webhook.url, signedHeaders(webhook.secret, id, new Date(o.webhooks.now()), body), body)
    } finally {
      const left = (this.#perHost.get(host) ?? 1) - 1
      if (left === 0) this.#perHost.delete(host)
      else this.#perHost.set(host, left)
      this.#wakeHost(host)
    }
    if (result.ok) {
      return (await o.webhooks.settle(ref, this.#holder, { kind: 'delivered', cursor: batch.cursor, recheckAt: recheckAt() })) === 'more'
    }
    const delay = retryDelay(webhook.attempts + 1, o.retryBaseMs, o.retryMaxMs)
    await o.webhooks.settle(ref, this.#holder, { kind: 'failed', error: result.error, retryAt: o.webhooks.now() + delay })
    this.#retryIn(ref, delay)
    return false
  }

  /** A delivery to `host` ended: the next webhook waiting for it gets its turn. */
  #wakeHost(host: string): void {
    const queue = this.#hostQueue.get(host)
    if (!queue) return
    const [key, next] = queue.entries().next().value as [string, WebhookRef]
    queue.delete(key)
    if (queue.size === 0) this.#hostQueue.delete(host)
    queueMicrotask(() => this.#kick(next))
  }

  #waitForHost(host: string, key: string, ref: WebhookRef): void {
    let queue = this.#hostQueue.get(host)
    if (!queue) {
      queue = new Map()
      this.#hostQueue.set(host, queue)
    }
    queue.set(key, ref)
  }

  #retryIn(ref: WebhookRef, delay: number): void {
    if (this.#closed) return
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#kick(ref)
    }, delay)
    timer.unref()
    this.#timers.add(timer)
  }
}

function refKey(ref: WebhookRef): string {
  return `${ref.sessionId} ${ref.agentId}`
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
