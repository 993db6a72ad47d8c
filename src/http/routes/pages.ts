import type { WebsocketHandler } from '@fastify/websocket'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isNexusError } from '../../core/errors.js'
import { normalizePairingCode } from '../../core/ids.js'
import { type App, publicBase, type RouteContext, typed } from '../context.js'
import { prefersHtml } from '../negotiate.js'
import { type GoneReason, goneHtml, goneMarkdown, pairingHtml, pairingMarkdown } from '../pages/pairing-page.js'
import { homeHtml, homeMarkdown } from '../pages/home-page.js'
import { codeParams } from '../schemas.js'
import { iso } from '../views.js'

/**
 * `/`: what Nexus is, markdown for agents and HTML for people. A WebSocket upgrade here goes to
 * `onSocket`, the chat hub (references/hub.md), so this route lives in the hub's scope (app.ts).
 */
export function homeRoute(app: App, { config }: RouteContext, onSocket: WebsocketHandler): void {
  typed(app).route({
    method: 'GET',
    url: '/',
    schema: { summary: 'What Nexus is and the whole protocol' },
    handler: async (request, reply) => {
      const base = publicBase(config, request)
      return sendPage(request, reply, 200, () => homeMarkdown(base), () => homeHtml(base))
    },
    wsHandler: onSocket,
  })
}

/** The pairing link: the page that tells an agent how to join, or why it cannot. */
export function pageRoutes(app: App, { pairing, config }: RouteContext): void {
  const api = typed(app)

  api.get('/p/:code', { schema: { summary: 'A pairing link', params: codeParams } }, async (request, reply) => {
    return reply.redirect(`/v1/pair/${encodeURIComponent(request.params.code)}/skill`, 301)
  })

  api.get('/v1/pair/:code/skill', {
    schema: { summary: 'How to join with this pairing code', params: codeParams },
  }, async (request, reply) => {
    const base = publicBase(config, request)
    let reason: GoneReason = 'unknown'
    try {
      const status = await pairing.status(request.params.code, request.ip)
      if (status.state === 'pending') {
        const input = { base, code: status.code, expiresAt: iso(status.expiresAt) }
        return sendPage(request, reply, 200, () => pairingMarkdown(input), () => pairingHtml(input))
      }
      reason = status.state
    } catch (err) {
      if (!isNexusError(err) || err.code !== 'code_not_found') throw err
    }
    // Only a well-formed code is echoed: the page is read by agents, so it repeats no free text.
    const shown = normalizePairingCode(request.params.code) ?? '(not a pairing code)'
    return sendPage(request, reply, 404, () => goneMarkdown(base, shown, reason), () => goneHtml(shown, reason))
  })
}

function sendPage(request: FastifyRequest, reply: FastifyReply, status: number, markdown: () => string, html: () => string) {
  reply.header('vary', 'Accept')
  if (prefersHtml(request.headers.accept)) return reply.code(status).type('text/html; charset=utf-8').send(html())
  return reply.code(status).type('text/markdown; charset=utf-8').send(markdown())
}
