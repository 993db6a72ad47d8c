import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyServerFactory } from 'fastify'
import { nexusError } from '../core/errors.js'
import type { ConnectionCap } from './connection-cap.js'
import { answerOutsideApp, rawErrorReply } from './raw-replies.js'
import { requestId } from './request-id.js'

export interface ListenerOptions {
  /** Headers, and the whole request with its body, must arrive within this (REQUEST_TIMEOUT_SECONDS). */
  requestTimeoutMs: number
  cap: ConnectionCap
}

/** Fastify's own default, kept: an idle keep-alive connection is closed after this. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000

/**
 * The HTTP server the app runs on (Fastify's `serverFactory`), so that what happens before a
 * route is bounded and answered from the catalogue too:
 *
 * - headers and bodies that do not arrive within `requestTimeoutMs` are cut (408). The bound
 *   covers receiving the request only: once it is in, a long-poll or an event stream lives as
 *   long as its own rules say (Node stops timing a connection when its request is complete).
 * - connections over the per-address cap are refused (ConnectionCap).
 * - an HTTP/1.1 request without Host, an `Expect` other than 100-continue and CONNECT get a
 *   catalogue error instead of Node's empty replies (or, for CONNECT, a bare close).
 */
export function serverFactory({ requestTimeoutMs, cap }: ListenerOptions): FastifyServerFactory<Server> {
  return (handler, options) => {
    const server = createServer({
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      // Node looks for late requests this often (30 s by default, which would double the bound).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 2))),
      // Answered below from the catalogue rather than with Node's empty 400.
      requireHostHeader: false,
    }, (request, response) => {
      // Answered when it connected; whatever it sent since is read only to close cleanly.
      if (cap.refused(request.socket)) return
      if (request.headers.host === undefined && request.httpVersionMajor === 1 && request.httpVersionMinor >= 1) {
        return answerOutsideApp(request, response, nexusError('invalid_request', 'An HTTP/1.1 request needs a Host header.'))
      }
      handler(request, response)
    })
    server.keepAliveTimeout = typeof options.keepAliveTimeout === 'number' ? options.keepAliveTimeout : KEEP_ALIVE_TIMEOUT_MS
    cap.watch(server)
    server.on('checkExpectation', (request, response) => {
      answerOutsideApp(request, response, nexusError('expectation_failed'))
    })
    server.on('connect', (request, socket: Socket) => {
      const err = nexusError('method_not_allowed', 'CONNECT is not served here: this is not a proxy.')
      socket.on('error', () => socket.destroy())
      // An empty Allow: no method reaches another host through this server.
      socket.write(rawErrorReply(err, requestId(request), { Allow: '' }))
      socket.destroySoon()
    })
    return server
  }
}
