import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { nexusError } from '../core/errors.js'
import { coreBackend } from './core-backend.js'
import { HandleKeeper } from './handle.js'
import { createMcpServer } from './server.js'
import { type App, publicBase, type RouteContext } from '../http/context.js'
import { sendError } from '../http/errors.js'

/**
 * MCP over Streamable HTTP at /mcp (references/mcp.md), stateless: each POST gets a fresh MCP
 * server and transport, the tools run on this server's core, and what an agent needs later
 * travels in the handle the tools return. Nothing is held between requests, so any instance
 * answers any call and a restart loses nothing. The rate limit counts each POST like any request.
 */
export function mcpRoutes(app: App, context: RouteContext): void {
  const { sessions, pairing, webhooks, holds, config, version } = context
  const keeper = new HandleKeeper()

  app.post('/mcp', async (request, reply) => {
    const base = publicBase(config, request)
    const backend = coreBackend({ sessions, pairing, webhooks, holds, config, publicBase: base, address: request.ip })
    const server = createMcpServer({ version }, {
      keeper,
      backend: () => backend,
      defaultServer: undefined,
      ownBase: base,
      // Every call runs on this server's core: a link of another server is explained, not followed.
      linkServer: () => undefined,
    })
    // JSON replies rather than an event stream: nothing is pushed on a stateless request.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    // The transport writes the reply itself; the headers already set (request id, rate-limit
    // budget) go on the raw reply first, or they would be lost.
    reply.hijack()
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value as string | number | readonly string[])
    }
    reply.raw.on('close', () => {
      void transport.close()
      void server.close()
    })
    try {
      await server.connect(transport)
      await transport.handleRequest(request.raw, reply.raw, request.body)
    } catch (err) {
      request.log.error({ err }, 'MCP request failed')
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Something went wrong on our side.' }, id: null }))
      }
    }
  })

  // No event stream to open and no MCP session to end: the transport is stateless.
  const notHere = async (_request: unknown, reply: Parameters<typeof sendError>[0]) => {
    reply.header('allow', 'POST')
    return sendError(reply, nexusError('method_not_allowed', 'This MCP endpoint is stateless: it answers POST only (no event stream, no session to end).'))
  }
  app.get('/mcp', notHere)
  app.delete('/mcp', notHere)
}
