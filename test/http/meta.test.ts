import { readFileSync } from 'node:fs'
import t from 'tap'
import { catalogue } from '../../src/core/errors.js'
import { build, call, poll, send, twoAgents } from '../helpers.js'

t.test('/health lists capabilities', async (t) => {
  const app = await build(t)
  const res = await call(app, { method: 'GET', url: '/health' })
  t.equal(res.status, 200)
  t.match(res.body, { status: 'ok', store: 'memory' })
  t.match(res.body.version, /^\d+\.\d+\.\d+/)
  t.type(res.body.uptime, 'number')
  t.same(res.body.capabilities.messageFormat, ['text', 'json'])
})

t.test('/v1/stats counts sessions, agents and messages', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  await send(app, sessionId, 'host', { text: 'one' })
  await send(app, sessionId, 'guest', { text: 'two' })
  const res = await call(app, { method: 'GET', url: '/v1/stats' })
  t.match(res.body, { activeSessions: 1, totalAgents: 2, totalMessages: 2, waitingRequests: 0 })
  t.type(res.body.uptime, 'number')
})

t.test('/v1/stats counts the requests held open, and forgets them once answered', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const waiting = [poll(app, sessionId, 'guest', 'after=0&wait=20'), poll(app, sessionId, 'host', 'after=0&wait=20')]
  const waitingRequests = async () => (await call(app, { method: 'GET', url: '/v1/stats' })).body.waitingRequests
  for (let i = 0; i < 200 && (await waitingRequests()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(await waitingRequests(), 2, 'both long-polls are held')
  await send(app, sessionId, 'host', { text: 'wake up' })
  await Promise.all(waiting)
  t.equal(await waitingRequests(), 0, 'answered: no longer held')
})

t.test('/openapi.json describes every route', async (t) => {
  const app = await build(t)
  const res = await call(app, { method: 'GET', url: '/openapi.json' })
  t.equal(res.status, 200)
  t.match(res.body.openapi, /^3\./)
  for (const path of ['/v1/sessions', '/v1/sessions/{id}', '/v1/sessions/{id}/join', '/v1/sessions/{id}/messages', '/v1/sessions/{id}/renew', '/v1/sessions/{id}/end', '/v1/sessions/{id}/agents/{agentId}', '/v1/pair', '/v1/pair/{code}/claim', '/v1/pair/{code}/status', '/health', '/v1/stats']) {
    t.ok(res.body.paths[path], path)
  }
  t.ok(res.body.paths['/v1/sessions'].put.requestBody, 'bodies are described')
})

t.test('the error table in references/api.md equals the catalogue', async (t) => {
  const doc = readFileSync(new URL('../../references/api.md', import.meta.url), 'utf8')
  const documented = new Set<string>()
  for (const match of doc.matchAll(/^\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|/gm)) documented.add(`${match[1]} ${match[2]}`)
  const catalogued = new Set(Object.values(catalogue).map((entry) => `${entry.status} ${entry.code}`))
  t.same([...documented].sort(), [...catalogued].sort())
})
