import rateLimit from '@fastify/rate-limit'
import Fastify from 'fastify'
import { z } from 'zod'
import { validatorCompiler } from '../src/http/validator.js'

/**
 * The stack floor: what the stack and the contract cost on every request before any Nexus code
 * runs, measured beside Nexus and the bare ceiling in the same run (bench/README.md).
 *
 * It is Fastify with what every Nexus route must carry: the message routes' paths and zod
 * schemas (params, headers, body, query), checked with Nexus's own validator compiler (the
 * cheapest zod check we have), @fastify/rate-limit with its budget headers, and an
 * X-Request-Id on every reply. The handlers answer a constant of the right shape: no core, no
 * store, no redaction, no logger. No implementation on this stack can be cheaper than this, so
 * its ratio to the ceiling is the best a Nexus on this stack could show.
 */
const app = Fastify({ logger: false })
app.setValidatorCompiler(validatorCompiler)
await app.register(rateLimit, { max: 1_000_000_000, timeWindow: 60_000 })
app.addHook('onRequest', (request, reply, done) => {
  reply.header('x-request-id', request.id)
  done()
})

const params = z.object({ id: z.string().max(256) })
const sendHeaders = z.looseObject({ 'x-agent-id': z.string().optional(), 'x-session-key': z.string().optional() })
const pollHeaders = z.looseObject({ 'x-agent-id': z.string().optional() })
const body = z.object({ text: z.string().min(1).optional(), json: z.json().optional() })
const query = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
})

app.post('/v1/sessions/:id/messages', { schema: { params, headers: sendHeaders, body } }, async (_request, reply) => {
  reply.code(201)
  return { id: 'msg_V1StGXR8_Z5jdHi6B-myT', cursor: '1', expiresAt: '2026-01-01T00:00:00.000Z', verified: true, redactions: [] }
})
app.get('/v1/sessions/:id/messages', { schema: { params, headers: pollHeaders, querystring: query } }, async () => ({
  messages: [],
  nextCursor: '1',
  hasMore: false,
}))
app.get('/floor', { config: { rateLimit: false } }, async () => ({ ok: true }))

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
