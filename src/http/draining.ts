import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { nexusError } from '../core/errors.js'
import { rawErrorReply } from './raw-replies.js'
import { requestId } from './request-id.js'

/** Seconds a client is asked to wait before retrying a request refused during shutdown. */
export const SHUTDOWN_RETRY_SECONDS = 2
/** How often, while closing, connections that have gone idle are closed. */
const IDLE_SWEEP_MS = 100
/** How long open connections are given to send one more request (and be told to close) before idle ones are cut. */
const DRAIN_WINDOW_MS = 500

/**
 * The app's side of a graceful close. Fastify's `closing` flag is its own; this one is set by
 * the first preClose hook, so requests arriving from then on are refused from the catalogue
 * (`503 shutting_down`, `Retry-After`, `Connection: close`; see app.ts) and not by Fastify's
 * own `{"error":"Service Unavailable"}`.
 *
 * Node's server.close() closes the connections idle at that moment, once. Closing an idle
 * connection races the client's next request on it: the client sees a reset and cannot tell
 * whether its send was stored. Under load most connections are idle at any instant (between a
 * reply and the next request), so the close first gives them a short window (DRAIN_WINDOW_MS,
 * ended early once none is left): every reply not yet begun, and every request arriving, is
 * told `Connection: close`, so active clients learn to stop reusing their connections and Node
 * closes each after its reply. Only then does the server close, cutting the connections that
 * stayed idle the whole window; what goes idle later (a reply begun before the close, an event
 * stream ended) is swept.
 */
export class Draining {
  #draining = false
  #sweep: NodeJS.Timeout | undefined
  readonly #connections = new Set<Socket>()

  get draining(): boolean {
    return this.#draining
  }

  /** Registers the hooks; call before any other preClose hook is added. */
  register(app: FastifyInstance): void {
    app.server.on('connection', (socket: Socket) => {
      this.#connections.add(socket)
      socket.once('close', () => this.#connections.delete(socket))
    })
    // An upgraded connection is the hub's, which closes its own (1001) on shutdown.
    app.server.on('upgrade', (_request: IncomingMessage, socket: Socket) => this.#connections.delete(socket))
    app.addHook('preClose', (done) => {
      this.#draining = true
      for (const socket of this.#connections) {
        const reply = replyOn(socket)
        if (reply && !reply.headersSent) reply.setHeader('connection', 'close')
      }
      done()
    })
    app.addHook('onClose', (_instance, done) => {
      clearInterval(this.#sweep)
      done()
    })
  }

  /**
   * Registers the drain window; call after every other preClose hook, so held long-polls and
   * streams are answered before it starts.
   */
  registerWindow(app: FastifyInstance): void {
    app.addHook('preClose', (done) => {
      const started = Date.now()
      const settle = setInterval(() => {
        if (this.#connections.size > 0 && Date.now() - started < DRAIN_WINDOW_MS) return
        clearInterval(settle)
        this.#dropUnfinishedRequests()
        this.#sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS)
        this.#sweep.unref()
        done()
      }, Math.min(IDLE_SWEEP_MS, DRAIN_WINDOW_MS))
    })
  }

  /**
   * At the end of the window, requests still arriving will not be served: Node stops timing
   * them once the server closes, so a body trickling in would hold the close until it is cut.
   * One whose body is still coming is answered `503 shutting_down`; a connection with no reply
   * in progress (idle, or its headers still coming) is closed, as server.close() would.
   */
  #dropUnfinishedRequests(): void {
    for (const socket of this.#connections) {
      const reply = replyOn(socket)
      if (!reply) {
        socket.destroy()
      } else if (!reply.headersSent && reply.req && !reply.req.complete) {
        const err = nexusError('shutting_down', undefined, { retryAfter: SHUTDOWN_RETRY_SECONDS })
        if (socket.writable) socket.write(rawErrorReply(err, requestId(reply.req)))
        socket.destroy()
      }
    }
  }
}

/** The reply in progress on a connection, as Node tracks it (its own client-error handler reads it too). */
function replyOn(socket: Socket): (ServerResponse & { req?: IncomingMessage }) | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage ?? undefined
}
