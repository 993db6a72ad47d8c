import { nexusError } from '../core/errors.js'
import type { App } from '../http/context.js'
import { sendError } from '../http/errors.js'
import type { Hub } from './hub.js'

/**
 * `/v1/hub`: the hub's second address (the first is `/` itself, in pages.ts). A plain GET, not
 * an upgrade, is told what this is.
 */
export function hubRoutes(app: App, hub: Hub): void {
  app.route({
    method: 'GET',
    url: '/v1/hub',
    schema: { hide: true },
    handler: async (_request, reply) =>
      sendError(reply, nexusError('invalid_request', 'This is the chat hub: open a WebSocket here (see references/hub.md).')),
    wsHandler: (socket, request) => hub.accept(socket, request),
  })
}
