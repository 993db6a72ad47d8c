import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildMetricsServer } from '../../src/metrics/server.js'
import { loadConfig } from '../../src/config.js'
import { nexusError } from '../../src/core/errors.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { ReadRequest } from '../../src/store/store.js'
import { rawClient, hubServer } from '../hub/helpers.js'
import { build, call, poll, send, twoAgents } from '../helpers.js'

const TOKEN = 'scrape-me-please-0123456789'

/** The value of one series in an exposition text, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3])
  }
  return undefined
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}) {
  const reply = await app.inject({ method: 'GET', url: '/metrics', headers })
  return { status: reply.statusCode, text: reply.body, type: String(reply.headers['content-type']) }
}

t.test('requests are counted by route pattern and status, never by raw URL', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  await poll(app, sessionId, 'guest')
  await poll(app, sessionId, 'stranger')
  await call(app, { method: 'GET', url: `/v1/no/such/${sessionId}` })
  const { status, text, type } = await scrape(app)
  t.equal(status, 200)
  t.match(type, /^text\/plain; version=0\.0\.4/)
  t.equal(sample(text, 'nexus_http_requests_total', { method: 'GET', route: '/v1/sessions/:id/messages', status: '200' }), 1)
  t.equal(sample(text, 'nexus_http_requests_total', { method: 'GET', route: '/v1/sessions/:id/messages', status: '403' }), 1)
  t.equal(sample(text, 'nexus_http_requests_total', { method: 'PUT', route: '/v1/sessions', status: '201' }), 1)
  t.equal(sample(text, 'nexus_http_requests_total', { method: 'GET', route: '(unmatched)', status: '404' }), 1)
  t.equal(sample(text, 'nexus_http_request_duration_seconds_count', { method: 'GET', route: '/v1/sessions/:id/messages' }), 2)
  t.notMatch(text, sessionId, 'no session id appears anywhere')
  t.ok(sample(text, 'process_resident_memory_bytes')! > 0, 'the process metrics are there too')
})

t.test('sessions, members, messages and redactions by type', async (t) => {
  const app = await build(t, { REDACTION_PATTERNS: JSON.stringify([{ type: 'acme_ticket_key', pattern: 'ACME-[0-9]{8}' }]) })
  const { sessionId } = await twoAgents(app, { greeting: 'the desk key is ACME-00000001' })
  await twoAgents(app)
  await send(app, sessionId, 'guest', { text: 'mine is ACME-12345678 and ACME-87654321' })
  await send(app, sessionId, 'guest', { text: 'nothing secret' })
  const { text } = await scrape(app)
  t.equal(sample(text, 'nexus_sessions_live'), 2)
  t.equal(sample(text, 'nexus_session_members'), 4)
  t.equal(sample(text, 'nexus_messages_stored_total'), 3, 'two messages and a greeting')
  t.equal(sample(text, 'nexus_store_messages_accepted'), 3)
  t.equal(sample(text, 'nexus_redactions_total', { type: 'acme_ticket_key' }), 2, 'once per message that held the type')
  t.equal(sample(text, 'nexus_store_up'), 1)
  const held = sample(text, 'nexus_message_bytes_held')!
  t.ok(held > 0, `bytes held: ${held}`)
  await send(app, sessionId, 'guest', { text: 'y'.repeat(1000) })
  t.ok(sample((await scrape(app)).text, 'nexus_message_bytes_held')! >= held + 1000, 'a kept message adds at least its bytes')
})

t.test('long-polls held open are waiters while they wait', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const waiting = poll(app, sessionId, 'guest', 'after=0&wait=30')
  let held: number | undefined
  for (let i = 0; i < 200 && held !== 1; i++) {
    held = sample((await scrape(app)).text, 'nexus_waiters')
    if (held !== 1) await new Promise((resolve) => setImmediate(resolve))
  }
  t.equal(held, 1, 'the long-poll is held')
  await send(app, sessionId, 'host', { text: 'wake up' })
  t.equal((await waiting).body.messages.length, 1)
  t.equal(sample((await scrape(app)).text, 'nexus_waiters'), 0, 'and released once answered')
})

t.test('hub connections are counted while open', async (t) => {
  const { app, hubUrl } = await hubServer(t)
  const client = await rawClient(t, hubUrl)
  t.equal(sample((await scrape(app)).text, 'nexus_hub_connections'), 1)
  await client.close()
  let open: number | undefined = 1
  for (let i = 0; i < 200 && open !== 0; i++) {
    open = sample((await scrape(app)).text, 'nexus_hub_connections')
    if (open !== 0) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  t.equal(open, 0, 'a closed socket is no longer counted')
})

/** A memory store whose reads fail as an unreachable Redis would, or with a bug. */
class FailingReads extends MemoryStore {
  failure: Error = nexusError('store_unavailable', undefined, { retryAfter: 1 })
  override async read(_sessionId: string, _request: ReadRequest, _now: number): Promise<never> {
    throw this.failure
  }
}

t.test('store failures are counted by operation and the code they became', async (t) => {
  const store = new FailingReads({ maxSessions: 100, maxMessagesPerSession: 100 })
  const app = await build(t, {}, { store })
  const { sessionId } = await twoAgents(app)
  t.equal((await poll(app, sessionId, 'guest')).status, 503)
  store.failure = new Error('a bug in the store')
  t.equal((await poll(app, sessionId, 'guest')).status, 500)
  const { text } = await scrape(app)
  t.equal(sample(text, 'nexus_store_errors_total', { operation: 'read', code: 'store_unavailable' }), 1)
  t.equal(sample(text, 'nexus_store_errors_total', { operation: 'read', code: 'internal_error' }), 1)
  t.equal(sample(text, 'nexus_http_requests_total', { route: '/v1/sessions/:id/messages', status: '503' }), 1)
})

t.test('rate-limit refusals are counted, and /metrics itself is never limited', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '2' })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await call(app, { method: 'GET', url: '/v1/stats' })).status)
  t.same(statuses, [200, 200, 429, 429])
  for (let i = 0; i < 3; i++) t.equal((await scrape(app)).status, 200)
  t.equal(sample((await scrape(app)).text, 'nexus_rate_limited_total'), 2)
})

t.test('METRICS_TOKEN: only the bearer of the token is answered', async (t) => {
  const app = await build(t, { METRICS_TOKEN: TOKEN })
  for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
    const reply = await call(app, { method: 'GET', url: '/metrics', headers })
    t.equal(reply.status, 403, JSON.stringify(headers))
    t.equal(reply.body?.error, 'forbidden')
    t.notMatch(reply.text, 'nexus_')
  }
  const ok = await scrape(app, { authorization: `Bearer ${TOKEN}` })
  t.equal(ok.status, 200)
  t.match(ok.text, 'nexus_http_requests_total')
})

t.test('METRICS_PORT: not on the API port, served by a server of their own', async (t) => {
  const config = loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: TOKEN, RATE_LIMIT_MAX: '1000000' })
  const app = await build(t, { METRICS_PORT: '9464', METRICS_TOKEN: TOKEN })
  await twoAgents(app)
  t.equal((await call(app, { method: 'GET', url: '/metrics' })).body?.error, 'not_found')
  const metricsServer = await buildMetricsServer(app.nexusMetrics, config)
  t.teardown(() => metricsServer.close())
  t.equal((await call(metricsServer, { method: 'GET', url: '/metrics' })).status, 403)
  const { status, text } = await scrape(metricsServer, { authorization: `Bearer ${TOKEN}` })
  t.equal(status, 200)
  t.equal(sample(text, 'nexus_sessions_live'), 1, 'the same app\'s figures')
  t.equal((await call(metricsServer, { method: 'GET', url: '/v1/stats' })).body?.error, 'not_found', 'and nothing else there')
})

t.test('each app counts on a registry of its own', async (t) => {
  const one = await build(t)
  const two = await build(t)
  await twoAgents(one)
  await twoAgents(one)
  await twoAgents(two)
  t.equal(sample((await scrape(one)).text, 'nexus_http_requests_total', { method: 'PUT', route: '/v1/sessions', status: '201' }), 2)
  t.equal(sample((await scrape(two)).text, 'nexus_http_requests_total', { method: 'PUT', route: '/v1/sessions', status: '201' }), 1)
})
