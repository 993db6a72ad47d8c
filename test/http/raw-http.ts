import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** A reply read off a raw socket: status line, headers (lower-cased) and body. */
export interface RawReply {
  status: number
  headers: Record<string, string>
  body: string
  json: any
}

export function portOf(app: FastifyInstance): number {
  return (app.server.address() as AddressInfo).port
}

/** Opens a socket to the app, from `localAddress` when given (any of 127.0.0.0/8 works on loopback). */
export function open(app: FastifyInstance, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: portOf(app), host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Everything the server sends on `socket` until it closes the connection. */
export function readToClose(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', () => undefined)
    socket.once('close', () => resolve(text))
  })
}

export function parseReply(text: string): RawReply {
  const split = text.indexOf('\r\n\r\n')
  const [statusLine, ...lines] = text.slice(0, split < 0 ? text.length : split).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = split < 0 ? '' : text.slice(split + 4)
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    json = undefined
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body, json }
}

/** Sends `data` on a fresh connection and parses what comes back before the server closes it. */
export async function exchange(app: FastifyInstance, data: string): Promise<RawReply> {
  const socket = await open(app)
  const reply = readToClose(socket)
  socket.write(data)
  return parseReply(await reply)
}
