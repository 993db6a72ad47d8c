import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import { type NexusError, nexusError } from '../core/errors.js'
import { rawErrorReply } from './raw-replies.js'
import { newRequestId, requestId } from './request-id.js'

/**
 * What Node's HTTP parser refuses before any route runs (Fastify's `clientErrorHandler`), as a
 * catalogue error: a request line or header that does not parse, headers over the size limit,
 * a request that did not arrive within REQUEST_TIMEOUT_SECONDS. The socket is closed after it.
 */
export function clientErrorHandler(log: () => FastifyBaseLogger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const error = catalogueErrorFor(err)
    // The request whose headers did arrive, if any: its body was what failed or timed out.
    const response = (socket as Socket & { _httpMessage?: ServerResponse & { req?: IncomingMessage } })._httpMessage
    const id = response?.req ? requestId(response.req) : newRequestId()
    log().debug({ reqId: id, code: err.code, error: error.code }, 'client error')
    // As Node's own default handler does: no reply once another has begun on this connection.
    if (socket.writable && !response?.headersSent) socket.write(rawErrorReply(error, id))
    socket.destroy()
  }
}

function catalogueErrorFor(err: NodeJS.ErrnoException): NexusError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return nexusError('request_timeout', 'The request did not arrive within the time this server allows; the connection is closed.')
    case 'HPE_HEADER_OVERFLOW':
      return nexusError('headers_too_large')
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return nexusError('payload_too_large')
    default:
      return nexusError('invalid_request', 'The request is not valid HTTP.')
  }
}
