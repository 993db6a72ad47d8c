import t from 'tap'
import { catalogue } from '../../src/core/errors.js'
import { build, call, twoAgents } from '../helpers.js'

const codes = new Set(Object.values(catalogue).map((entry) => entry.code))

t.test('malformed input always gets a 4xx of the catalogue, never a 500', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const json = { 'content-type': 'application/json' }
  const cases: Array<{ name: string; method: 'GET' | 'PUT' | 'POST' | 'DELETE'; url: string; headers?: Record<string, string>; payload?: string; expect: string }> = [
    { name: 'bad JSON', method: 'PUT', url: '/v1/sessions', headers: json, payload: '{"ttl":', expect: 'invalid_body' },
    { name: 'bad JSON on send', method: 'POST', url: `/v1/sessions/${sessionId}/messages`, headers: { ...json, 'x-agent-id': 'guest' }, payload: '{text: hi}', expect: 'invalid_body' },
    { name: 'JSON without content type', method: 'POST', url: `/v1/sessions/${sessionId}/messages`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-agent-id': 'guest' }, payload: 'text=hi', expect: 'invalid_body' },
    { name: 'array body', method: 'PUT', url: '/v1/sessions', headers: json, payload: '[1,2]', expect: 'invalid_request' },
    { name: 'string body', method: 'PUT', url: '/v1/sessions', headers: json, payload: '"ttl"', expect: 'invalid_request' },
    { name: 'null body', method: 'PUT', url: '/v1/pair', headers: json, payload: 'null', expect: 'invalid_request' },
    { name: 'number for sessionId', method: 'PUT', url: '/v1/pair', headers: json, payload: '{"sessionId":5}', expect: 'invalid_request' },
    { name: 'huge ttl', method: 'PUT', url: '/v1/sessions', headers: json, payload: '{"ttl":1e308}', expect: 'invalid_request' },
    { name: 'negative maxAgents', method: 'PUT', url: '/v1/sessions', headers: json, payload: '{"maxAgents":-3}', expect: 'invalid_request' },
    { name: 'undecodable URL', method: 'GET', url: '/v1/sessions/%00%ff..%2F', expect: 'invalid_request' },
    { name: 'odd id', method: 'GET', url: '/v1/sessions/..%2F..%2Fetc', expect: 'session_not_found' },
    { name: 'very long id', method: 'GET', url: `/v1/sessions/${'a'.repeat(300)}`, expect: 'invalid_request' },
    { name: 'unicode agent path', method: 'DELETE', url: `/v1/sessions/${sessionId}/agents/%E2%9C%93`, headers: { 'x-agent-id': 'guest', 'x-session-key': 'k' }, expect: 'forbidden' },
    { name: 'unknown route', method: 'GET', url: '/v2/whatever', expect: 'not_found' },
    { name: 'wrong method', method: 'PUT', url: `/v1/sessions/${sessionId}/messages`, expect: 'method_not_allowed' },
    { name: 'duplicate query', method: 'GET', url: `/v1/sessions/${sessionId}/messages?after=1&after=2`, headers: { 'x-agent-id': 'guest' }, expect: 'invalid_request' },
    { name: 'proto pollution body', method: 'POST', url: `/v1/sessions/${sessionId}/messages`, headers: { ...json, 'x-agent-id': 'guest' }, payload: '{"__proto__":{"x":1},"text":"ok"}', expect: 'invalid_body' },
  ]
  for (const c of cases) {
    const res = await call(app, c)
    t.ok(res.status >= 400 && res.status < 500, `${c.name}: ${res.status}`)
    t.equal(res.body?.error, c.expect, c.name)
    t.ok(codes.has(res.body?.error), `${c.name}: a catalogue code`)
    t.type(res.body?.message, 'string', `${c.name}: a message`)
    t.ok(res.headers['x-request-id'], `${c.name}: X-Request-Id`)
  }
})

t.test('every reply carries X-Request-Id, and a sane one sent by the client is kept', async (t) => {
  const app = await build(t)
  const plain = await call(app, { method: 'GET', url: '/health' })
  t.match(plain.headers['x-request-id'], /^[0-9a-f]{10}-[0-9a-z]+$/, 'made here: the process prefix and a counter')
  const next = await call(app, { method: 'GET', url: '/health' })
  t.not(next.headers['x-request-id'], plain.headers['x-request-id'], 'each request gets its own')
  const mine = await call(app, { method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-42' } })
  t.equal(mine.headers['x-request-id'], 'trace-42')
  const hostile = await call(app, { method: 'GET', url: '/health', headers: { 'x-request-id': 'a b<script>' } })
  t.not(hostile.headers['x-request-id'], 'a b<script>')
  const notFound = await call(app, { method: 'GET', url: '/nope' })
  t.ok(notFound.headers['x-request-id'])
})
