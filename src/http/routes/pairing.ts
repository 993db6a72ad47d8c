import { z } from 'zod'
import { type App, publicBase, type RouteContext, typed } from '../context.js'
import { agentHeaders, claimed, codeParams, codeStatus, errors, paired } from '../schemas.js'
import { iso } from '../views.js'
import { attachWebhook, joinBody, joinWebhookFields } from './webhooks.js'

/** Pairing codes: make one, claim one, ask about one. */
export function pairingRoutes(app: App, { pairing, webhooks, config }: RouteContext): void {
  const api = typed(app)

  api.put('/v1/pair', {
    schema: {
      summary: 'Make a pairing code for a session',
      body: z.object({ sessionId: z.string().max(256) }),
      response: { 201: paired, ...errors(404, 409) },
    },
  }, async (request, reply) => {
    const record = await pairing.create(request.body.sessionId)
    return reply.code(201).send({
      code: record.code,
      url: `${publicBase(config, request)}/p/${record.code}`,
      expiresAt: iso(record.expiresAt),
    })
  })

  api.post('/v1/pair/:code/claim', {
    schema: {
      summary: 'Claim a pairing code: join its session (with `webhookUrl`, set its webhook too)',
      params: codeParams,
      headers: agentHeaders,
      body: joinBody,
      response: { 200: claimed.extend(joinWebhookFields), ...errors(404, 409) },
    },
  }, async (request) => {
    const webhookUrl = request.body?.webhookUrl === undefined ? undefined : webhooks.checkUrl(request.body.webhookUrl)
    const result = await pairing.claim(request.params.code, request.headers['x-agent-id'], request.ip)
    const webhook = webhookUrl === undefined ? {} : await attachWebhook(webhooks, result.session.id, result.agentId, result.sessionKey, webhookUrl)
    return {
      ...webhook,
      sessionId: result.session.id,
      status: 'claimed' as const,
      agentId: result.agentId,
      sessionKey: result.sessionKey,
      agentsOnline: result.agentCount,
    }
  })

  api.get('/v1/pair/:code/status', {
    schema: {
      summary: 'State of a pairing code',
      params: codeParams,
      response: { 200: codeStatus, ...errors(404) },
    },
  }, async (request) => {
    const status = await pairing.status(request.params.code, request.ip)
    return { code: status.code, state: status.state, expiresAt: iso(status.expiresAt) }
  })
}
