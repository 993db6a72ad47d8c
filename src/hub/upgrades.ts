import { EventEmitter } from 'node:events'
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocketServer } from 'ws'
import { type NexusError, nexusError } from '../core/errors.js'
import { CAPACITY_RETRY_SECONDS } from '../core/limits.js'
import { requestId } from '../http/request-id.js'

/**
 * The server's WebSocket upgrades, sorted: GETs for a path the hub serves go on to this emitter
 * (handed to @fastify/websocket as its `server`), every other one is answered from the
 * catalogue (404 elsewhere, 400 for another method) and its socket closed. The paths are the hub's routes themselves: app.ts adds each
 * one as its scope registers it, so they are written once, in the routes.
 *
 * Why not let the plugin see them all: @fastify/websocket adds hooks and a handler wrapper to
 * every route in its scope, paid by every plain HTTP request. The app keeps the plugin in a
 * scope of its own that holds only the hub's routes, so an upgrade to any other path would
 * reach a route that cannot take it and leave an upgraded socket nobody closes.
 */
export class HubUpgrades extends EventEmitter {
  readonly #paths = new Set<string>()

  constructor(server: Server) {
    super()
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (request.url ?? '').split('?', 1)[0]!
      if (!this.#paths.has(path)) return this.#refuse(request, socket, path)
      // Routed on, another method would wait for a body that never comes: the socket is no longer the parser's.
      if (request.method !== 'GET') {
        return refuseUpgrade(request, socket, nexusError('invalid_request', `A WebSocket opens with GET, not ${String(request.method).slice(0, 20)}.`))
      }
      // Closing: the plugin has stopped listening, so nobody would take the socket.
      if (!this.emit('upgrade', request, socket, head)) {
        refuseUpgrade(request, socket, nexusError('capacity_exceeded', 'The server is shutting down; reconnect shortly.', { retryAfter: CAPACITY_RETRY_SECONDS }))
      }
    })
  }

  /** A path the hub answers upgrades on. */
  serve(path: string): void {
    this.#paths.add(path)
  }

  /**
   * Upgrades the WebSocket layer itself refuses (a missing or bad Sec-WebSocket-Key, version,
   * protocol or extension header) are answered from the catalogue too: left to `ws`, they
   * would come back as text/html.
   */
  answerBadHandshakes(wss: WebSocketServer): void {
    wss.on('wsClientError', (err: Error, socket: Duplex, request: IncomingMessage) => {
      refuseUpgrade(request, socket, nexusError('invalid_request', `Not a WebSocket upgrade this server can take: ${err.message}.`))
    })
  }

  #refuse(request: IncomingMessage, socket: Duplex, path: string): void {
    refuseUpgrade(request, socket, nexusError('not_found', `No WebSocket at ${path.slice(0, 200)}: the hub is on ${[...this.#paths].join(' and ')}.`))
  }
}

/** Answers an upgrade with a catalogue error in its JSON, as any HTTP request would get it, and closes the socket. */
export function refuseUpgrade(request: IncomingMessage, socket: Duplex, err: NexusError): void {
  const body = JSON.stringify({ error: err.code, message: err.message })
  socket.on('error', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId(request)}\r\n` +
      (err.retryAfter !== undefined ? `Retry-After: ${err.retryAfter}\r\n` : '') +
      'Connection: close\r\n\r\n' +
      body,
  )
}
