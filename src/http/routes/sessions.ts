import { createSessionSchema, endSchema, renewSchema } from '../../core/inputs.js'
import { type App, type RouteContext, typed } from '../context.js'
import {
  agentHeaders,
  agentKeyHeaders,
  ended,
  errors,
  joined,
  left,
  leaveParams,
  renewed,
  sessionCreated,
  sessionParams,
  sessionStatus,
} from '../schemas.js'
import { endView, iso, sessionStatusView } from '../views.js'
import { attachWebhook, joinBody, joinWebhookFields } from './webhooks.js'

/** Sessions: create, status, join, renew, end, leave. */
export function sessionRoutes(app: App, { sessions, webhooks, config }: RouteContext): void {
  const api = typed(app)

  api.put('/v1/sessions', {
    schema: {
      summary: 'Create a session',
      // No body at all is a session with every default.
      body: createSessionSchema(config.limits).nullish(),
      response: { 201: sessionCreated, ...errors(503) },
    },
  }, async (request, reply) => {
    const { session, sessionKey } = await sessions.create(request.body ?? {})
    return reply.code(201).send({
      sessionId: session.id,
      ttl: session.ttlSeconds,
      maxAgents: session.maxAgents,
      state: 'active' as const,
      expiresAt: iso(session.expiresAt),
      createdAt: iso(session.createdAt),
      ...(session.creatorAgentId !== null ? { creatorAgentId: session.creatorAgentId, sessionKey } : {}),
    })
  })

  api.get('/v1/sessions/:id', {
    schema: {
      summary: 'Status of a session (public)',
      params: sessionParams,
      response: { 200: sessionStatus, ...errors(404) },
    },
  }, async (request) => {
    const { session, members } = await sessions.status(request.params.id)
    return sessionStatusView(session, members)
  })

  api.post('/v1/sessions/:id/join', {
    schema: {
      summary: 'Join a session (with `webhookUrl`, set its webhook too)',
      params: sessionParams,
      headers: agentHeaders,
      body: joinBody,
      response: { 200: joined.extend(joinWebhookFields), ...errors(404, 409) },
    },
  }, async (request) => {
    // A bad URL is refused before anyone joins.
    const webhookUrl = request.body?.webhookUrl === undefined ? undefined : webhooks.checkUrl(request.body.webhookUrl)
    const result = await sessions.join(request.params.id, request.headers['x-agent-id'])
    const webhook = webhookUrl === undefined ? {} : await attachWebhook(webhooks, result.session.id, result.agentId, result.sessionKey, webhookUrl)
    return {
      ...webhook,
      status: 'joined' as const,
      sessionId: result.session.id,
      agentId: result.agentId,
      agentsOnline: result.agentCount,
      sessionKey: result.sessionKey,
    }
  })

  api.post('/v1/sessions/:id/renew', {
    schema: {
      summary: 'Renew a session (optionally with a new ttl)',
      params: sessionParams,
      headers: agentKeyHeaders,
      body: renewSchema(config.limits).nullish(),
      response: { 200: renewed, ...errors(401, 403, 404) },
    },
  }, async (request) => {
    const { session, agents } = await sessions.renew(request.params.id, request.headers['x-agent-id'], request.body?.ttl, request.headers['x-session-key'])
    return {
      sessionId: session.id,
      state: 'active' as const,
      ttl: session.ttlSeconds,
      expiresAt: iso(session.expiresAt),
      agents,
    }
  })

  api.post('/v1/sessions/:id/end', {
    schema: {
      summary: 'End a session for every member and every way in (its final message says who and why)',
      params: sessionParams,
      headers: agentKeyHeaders,
      body: endSchema.nullish(),
      response: { 200: ended, ...errors(401, 403, 404, 409, 413) },
    },
  }, async (request) => {
    const { session, end } = await sessions.end(request.params.id, request.headers['x-agent-id'], request.headers['x-session-key'], request.body ?? {})
    return { sessionId: session.id, ended: endView(end), expiresAt: iso(session.expiresAt) }
  })

  api.delete('/v1/sessions/:id/agents/:agentId', {
    schema: {
      summary: 'Leave a session',
      params: leaveParams,
      headers: agentKeyHeaders,
      response: { 200: left, ...errors(401, 403, 404) },
    },
  }, async (request) => {
    const { session, agentId } = await sessions.leave(
      request.params.id,
      request.params.agentId,
      request.headers['x-agent-id'],
      request.headers['x-session-key'],
    )
    return { ok: true as const, sessionId: session.id, agentId, message: `${agentId} left the session.` }
  })
}
