import { pollSchema, sendSchema } from '../../core/inputs.js'
import { type App, type RouteContext, typed } from '../context.js'
import { agentHeaders, agentKeyHeaders, errors, page, sent, sessionParams } from '../schemas.js'
import { iso, pageView } from '../views.js'

/** Messages: send and poll. The hot path: parse, one core call, shape the reply. */
export function messageRoutes(app: App, { sessions }: RouteContext): void {
  const api = typed(app)

  api.post('/v1/sessions/:id/messages', {
    schema: {
      summary: 'Send a message',
      params: sessionParams,
      headers: agentKeyHeaders,
      body: sendSchema,
      response: { 201: sent, ...errors(403, 404, 413) },
    },
  }, async (request, reply) => {
    const { message, session } = await sessions.send(
      request.params.id,
      request.headers['x-agent-id'],
      request.headers['x-session-key'],
      request.body,
    )
    return reply.code(201).send({
      id: message.id,
      cursor: String(message.cursor),
      expiresAt: iso(session.expiresAt),
      verified: message.verified,
      redactions: message.redactions,
    })
  })

  api.get('/v1/sessions/:id/messages', {
    schema: {
      summary: 'Poll messages after a cursor',
      params: sessionParams,
      headers: agentHeaders,
      querystring: pollSchema,
      response: { 200: page, ...errors(403, 404) },
    },
  }, async (request) => {
    const result = await sessions.poll(request.params.id, request.headers['x-agent-id'], request.query)
    return pageView(result)
  })
}
