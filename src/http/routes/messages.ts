import { pollSchema, sendSchema } from '../../core/inputs.js'
import { type App, type RouteContext, typed } from '../context.js'
import { HeldPoll } from '../held-poll.js'
import { cutIfUnread } from '../slow-reader.js'
import { agentKeyHeaders, errors, page, sent, sessionParams } from '../schemas.js'
import { iso, pageView } from '../views.js'

/** Messages: send and poll. The hot path: parse, one core call, shape the reply. */
export function messageRoutes(app: App, { sessions, holds, config }: RouteContext): void {
  const api = typed(app)
  const slowReaderMs = config.slowReaderSeconds * 1000

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
      headers: agentKeyHeaders,
      querystring: pollSchema,
      response: { 200: page, ...errors(401, 403, 404) },
    },
    // A page is up to MAX_PAGE_BYTES held here until the client reads it: a client that does not is cut.
    onSend: (_request, reply, payload, done) => {
      cutIfUnread(reply.raw, typeof payload === 'string' ? payload.length : 0, slowReaderMs)
      done(null, payload)
    },
  }, (request, reply) => {
    // The query as parsed is what the core reads; it ignores `wait`, and the request keeps the
    // object for its whole life anyway, so a long-poll holds no copy. Only a poll that shows a
    // key (REQUIRE_KEY_FOR_READS) pays for one, to carry it.
    const key = request.headers['x-session-key']
    const query = key === undefined ? request.query : { ...request.query, sessionKey: key }
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
