import { pollSchema, sendSchema } from '../../core/inputs.js'
import { WaitHandle } from '../../core/wake.js'
import { type App, type RouteContext, typed } from '../context.js'
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
    // A plain poll hands the query on as parsed (the core ignores `wait`); a long-poll makes the
    // one object it needs, with the wait in milliseconds, since it is kept for the whole wait.
    const query = request.query
    if (!query.wait) return sessions.poll(request.params.id, request.headers['x-agent-id'], query).then(pageView)

    // Long-poll: hold a slot, and end the wait the moment the client goes away. Not an async
    // function: suspended at an await for the whole wait it would keep a frame per waiter.
    const release = holds.acquire(request.ip)
    const handle = new WaitHandle()
    const onClose = () => {
      if (!reply.raw.writableFinished) handle.cancel()
    }
    // `on`, not `once`: 'close' comes once anyway, and `once` wraps the listener in two more objects.
    reply.raw.on('close', onClose)
    const done = () => {
      release()
      reply.raw.off('close', onClose)
    }
    return sessions.poll(request.params.id, request.headers['x-agent-id'], { after: query.after, limit: query.limit, members: query.members, waitMs: query.wait * 1000 }, handle).then(
      (page) => {
        done()
        return pageView(page)
      },
      (err: unknown) => {
        done()
        throw err
      },
    )
  })
}
