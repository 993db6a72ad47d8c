import { collectDefaultMetrics, Counter, Gauge, type Metric, Registry } from 'prom-client'
import { isNexusError } from '../core/errors.js'
import type { CoreMeter } from '../core/meter.js'
import type { StoreStats } from '../store/store.js'
import { RequestSeries } from './requests.js'
import type { StoreOperation } from './store.js'

/** What a scrape reads as it happens: the store's counts and this process's held connections. */
export interface LiveSources {
  stats: () => Promise<StoreStats>
  /** Long-polls and event streams held open. */
  waiters: () => number
  hubConnections: () => number
}

/** Seconds. Long-polls and streams are held up to a minute, so the buckets reach that far. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** The route label of a request no route matched: raw URLs are never labels (they hold session ids and codes). */
export const UNMATCHED_ROUTE = '(unmatched)'

/**
 * The app's metrics in Prometheus form (references/operations.md), on a registry of its own so
 * that several apps in one process (the tests build many) never share or clash. The core and
 * the ways in only report counts and events; this is the one place that knows prom-client.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #requests = new RequestSeries(DURATION_BUCKETS)
  readonly #rateLimited: Counter
  readonly #messages: Counter
  readonly #redactions: Counter<'type'>
  readonly #storeErrors: Counter<'operation' | 'code'>
  readonly #sessions: Gauge
  readonly #members: Gauge
  readonly #storeMessages: Gauge
  readonly #bytesHeld: Gauge
  readonly #storeUp: Gauge
  readonly #waiters: Gauge
  readonly #hubConnections: Gauge
  #sources: LiveSources | undefined
  #processMetrics = false

  constructor() {
    const registers = [this.registry]
    // Kept by RequestSeries, read by the registry like any of its own metrics.
    this.registry.registerMetric(this.#requests.counter('nexus_http_requests_total', 'HTTP requests answered, by method, route pattern and status.') as unknown as Metric)
    this.registry.registerMetric(this.#requests.histogram('nexus_http_request_duration_seconds', 'Time to answer an HTTP request, by method and route pattern (long-polls include their wait).') as unknown as Metric)
    this.#rateLimited = new Counter({ name: 'nexus_rate_limited_total', help: 'Requests refused with 429 by the per-address rate limit.', registers })
    this.#messages = new Counter({ name: 'nexus_messages_stored_total', help: 'Messages (greetings included) this instance stored, from every way in.', registers })
    this.#redactions = new Counter({ name: 'nexus_redactions_total', help: 'Secrets replaced in stored messages, by type (a message counts once per type it held).', labelNames: ['type'], registers })
    this.#storeErrors = new Counter({ name: 'nexus_store_errors_total', help: 'Store calls that failed, by operation and the catalogue code they became.', labelNames: ['operation', 'code'], registers })
    this.#sessions = new Gauge({ name: 'nexus_sessions_live', help: 'Live sessions in the store (shared by every instance on one Redis).', registers })
    this.#members = new Gauge({ name: 'nexus_session_members', help: 'Members across live sessions in the store.', registers })
    this.#storeMessages = new Gauge({ name: 'nexus_store_messages_accepted', help: 'Messages the store accepted since it was created (greetings included).', registers })
    this.#bytesHeld = new Gauge({ name: 'nexus_message_bytes_held', help: 'Bytes of the messages the store holds, as MAX_STORE_BYTES counts them.', registers })
    this.#storeUp = new Gauge({ name: 'nexus_store_up', help: '1 when the store answered this scrape, 0 when it could not be reached.', registers })
    this.#waiters = new Gauge({ name: 'nexus_waiters', help: 'Long-polls and event streams this instance holds open.', registers })
    this.#hubConnections = new Gauge({ name: 'nexus_hub_connections', help: 'WebSocket hub connections this instance holds open.', registers })
  }

  /** Where the gauges read from; the app attaches them once its parts exist. */
  attach(sources: LiveSources): void {
    this.#sources = sources
  }

  /** What the core tells: each stored message and the secrets replaced in it. */
  readonly meter: CoreMeter = {
    messageStored: (redactions) => {
      this.#messages.inc()
      for (const type of redactions) this.#redactions.inc({ type })
    },
  }

  /** One HTTP request answered; `route` is the matched pattern, undefined when none matched. */
  request(method: string, route: string | undefined, status: number, elapsedMs: number): void {
    this.#requests.record(method, route ?? UNMATCHED_ROUTE, status, elapsedMs / 1000)
  }

  rateLimited(): void {
    this.#rateLimited.inc()
  }

  /** A store call failed; a catalogue error keeps its code (store_unavailable), anything else is a bug. */
  storeFailed(operation: StoreOperation, err: unknown): void {
    this.#storeErrors.inc({ operation, code: isNexusError(err) ? err.code : 'internal_error' })
  }

  /**
   * The exposition text. Gauges are read now, from the store and the live connections; a store
   * that cannot be reached leaves its gauges as last read and says so in `nexus_store_up`. The
   * process's own metrics (memory, event loop, GC) start with the first scrape, so apps that
   * are never scraped (tests build hundreds) never start their monitors.
   */
  async render(): Promise<string> {
    if (!this.#processMetrics) {
      this.#processMetrics = true
      collectDefaultMetrics({ register: this.registry })
    }
    const sources = this.#sources
    if (sources) {
      this.#waiters.set(sources.waiters())
      this.#hubConnections.set(sources.hubConnections())
      try {
        const stats = await sources.stats()
        this.#sessions.set(stats.activeSessions)
        this.#members.set(stats.totalAgents)
        this.#storeMessages.set(stats.totalMessages)
        this.#bytesHeld.set(stats.bytesHeld)
        this.#storeUp.set(1)
      } catch {
        // Counted by the store's wrapper as a store error; the scrape itself still answers.
        this.#storeUp.set(0)
      }
    }
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
