import { pollSchema, sendSchema } from '../../core/inputs.js'
import { type App, type RouteContext, typed } from '../context.js'
import { HeldPoll } from '../held-poll.js'
import { agentHeaders, agentKeyHeaders, errors, page, sent, sessionParams } from '../schemas.js'
import { iso, pageView } from '../views.js'

/** Messages: send and poll. The hot path: parse, one core call, shape the reply. */
export function messageRoutes(app: App, { sessions, holds }: RouteContext): void {
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
  }, (request, reply) => {
    // The query as parsed is what the core reads; it ignores `wait`, and the request keeps the
    // object for its whole life anyway, so a long-poll holds no copy.
    const query = request.query
    // A HEAD is answered at once: it has no body to wait for, so it never holds a slot.
    if (!query.wait || request.method === 'HEAD') return sessions.poll(request.params.id, request.headers['x-agent-id'], query).then(pageView)

    // Long-poll: the reply is sent when the core answers the HeldPoll, not by a returned promise.
    const held = new HeldPoll(reply, holds, request.ip)
    try {
      held.waitOn(sessions.longPoll(request.params.id, request.headers['x-agent-id'], query, query.wait * 1000, held))
    } catch (err) {
      held.fail(err)
    }
    // Nothing returned: Fastify keeps the reply open until the HeldPoll sends it.
    return undefined
  })
}
