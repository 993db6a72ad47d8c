import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { nexusError } from '../../core/errors.js'

/** Where the hub answers a WebSocket upgrade (references/hub.md). */
export const HUB_PATHS: readonly string[] = ['/', '/v1/hub']

/**
 * The server's WebSocket upgrades, sorted: those for the hub's addresses go on to the returned
 * emitter (handed to @fastify/websocket as its `server`), every other one is answered 404 from
 * the catalogue and its socket closed.
 *
 * Why not let the plugin see them all: @fastify/websocket adds hooks and a handler wrapper to
 * every route in its scope, paid by every plain HTTP request. The app keeps the plugin in a
 * scope of its own that holds only the hub's routes, so an upgrade to any other path would
 * reach a route that cannot take it and leave an upgraded socket nobody closes.
 */
export function hubUpgrades(server: Server): EventEmitter {
  const hub = new EventEmitter()
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?', 1)[0]!
    if (!HUB_PATHS.includes(path)) return refuse(socket, path)
    // Closing: the plugin has stopped listening, so nobody would take the socket.
    if (!hub.emit('upgrade', request, socket, head)) socket.destroy()
  })
  return hub
}

function refuse(socket: Duplex, path: string): void {
  const err = nexusError('not_found', `No WebSocket at ${path.slice(0, 200)}: the hub is on ${HUB_PATHS.join(' and ')}.`)
  const body = JSON.stringify({ error: err.code, message: err.message })
  socket.on('error', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${err.status} Not Found\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${randomUUID()}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  )
}
