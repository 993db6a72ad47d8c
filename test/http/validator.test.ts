import Fastify from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import t, { type Test } from 'tap'
import { z } from 'zod'
import { registerErrorHandling } from '../../src/http/errors.js'
import { validatorCompiler } from '../../src/http/validator.js'

/** A tiny app with one route whose header schema names one header with a rule. */
async function app(t: Test) {
  const app = Fastify({ logger: false })
  app.setValidatorCompiler(validatorCompiler)
  registerErrorHandling(app)
  app.withTypeProvider<ZodTypeProvider>().get('/h', {
    schema: {
      headers: z.looseObject({ 'x-short': z.string().max(3).optional(), 'x-trimmed': z.string().trim().optional() }),
      querystring: z.object({ n: z.coerce.number().int().optional() }),
    },
  }, async (request) => ({
    short: request.headers['x-short'] ?? null,
    trimmed: request.headers['x-trimmed'] ?? null,
    other: request.headers['x-other'] ?? null,
    n: request.query.n ?? null,
  }))
  t.teardown(() => app.close())
  return app
}

t.test('headers a schema names are checked and parsed; the others are kept', async (t) => {
  const res = await (await app(t)).inject({ url: '/h?n=4', headers: { 'x-short': 'abc', 'x-trimmed': '  padded  ', 'x-other': 'kept' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { short: 'abc', trimmed: 'padded', other: 'kept', n: 4 })
})

t.test('a header breaking its rule is a 400 with details, worded like any other part', async (t) => {
  const server = await app(t)
  const header = await server.inject({ url: '/h', headers: { 'x-short': 'abcd' } })
  t.equal(header.statusCode, 400)
  t.match(header.json(), { error: 'invalid_request', details: [{ path: 'headers.x-short' }] })
  const query = await server.inject({ url: '/h?n=x' })
  t.equal(query.statusCode, 400)
  t.match(query.json(), { error: 'invalid_request', details: [{ path: 'querystring.n' }] })
})

t.test('absent optional headers are fine', async (t) => {
  const res = await (await app(t)).inject({ url: '/h' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { short: null, trimmed: null, other: null, n: null })
})
