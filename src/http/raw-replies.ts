import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { NexusError } from '../core/errors.js'
import { requestId } from './request-id.js'

/**
 * Catalogue errors for what never reaches Fastify: a request line that does not parse, headers
 * that never finish, a connection over its address's cap, an `Expect` the server cannot meet.
 * The body is the same `{error, message}` as every other reply's, and the connection closes
 * after it, since what the client sends next cannot be trusted to line up with a request.
 */

function errorBody(err: NexusError): string {
  return JSON.stringify({ error: err.code, message: err.message })
}

function extraHeaders(err: NexusError, extras: Record<string, string>): Record<string, string> {
  return { ...(err.retryAfter !== undefined ? { 'Retry-After': String(err.retryAfter) } : {}), ...extras }
}

/** The whole reply as bytes for a socket no response object owns. */
export function rawErrorReply(err: NexusError, id: string, extras: Record<string, string> = {}): string {
  const body = errorBody(err)
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Request-Id': id,
    ...extraHeaders(err, extras),
    Connection: 'close',
  }
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${lines}\r\n${body}`
}

/** Answers a request Node parsed but the app is not to see (no Host header, an unmet Expect). */
export function answerOutsideApp(request: IncomingMessage, response: ServerResponse, err: NexusError): void {
  const body = errorBody(err)
  response.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId(request),
    ...extraHeaders(err, {}),
    connection: 'close',
  })
  response.end(body)
}
