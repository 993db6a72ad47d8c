import type { FastifyInstance } from 'fastify'

/** Seconds a client is asked to wait before retrying a request refused during shutdown. */
export const SHUTDOWN_RETRY_SECONDS = 2
/** How often, while closing, connections that have gone idle are closed. */
const IDLE_SWEEP_MS = 100

/**
 * The app's side of a graceful close. Fastify's `closing` flag is its own; this one is set by
 * the first preClose hook, so requests arriving from then on are refused from the catalogue
 * (`503 shutting_down`, `Retry-After`, `Connection: close`; see errors.ts) and not by Fastify's
 * own `{"error":"Service Unavailable"}`.
 *
 * Node's server.close() closes the connections idle at that moment, once. A connection whose
 * request finishes later (a long-poll answered by releaseWaiters, an event stream told
 * `shutdown`, a send that was in flight) would stay open idle until its keep-alive timeout and
 * hold the close up for a minute, so while closing the idle ones are closed again and again.
 */
export class Draining {
  #draining = false
  #sweep: NodeJS.Timeout | undefined

  get draining(): boolean {
    return this.#draining
  }

  /** Registers the hooks; call before any other preClose hook is added. */
  register(app: FastifyInstance): void {
    app.addHook('preClose', (done) => {
      this.#draining = true
      this.#sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS)
      this.#sweep.unref()
      done()
    })
    app.addHook('onClose', (_instance, done) => {
      clearInterval(this.#sweep)
      done()
    })
  }
}
