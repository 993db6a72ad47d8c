import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { RedisStore } from '../../src/store/redis.js'
import { call } from '../helpers.js'
import { testPrefix } from '../scale/support.js'
import { type Fixture, type FuzzRequest, operationsOf, requestFor } from './http-cases.js'
import { fuzzOptions, fuzzRuns, fuzzTimeoutMs, httpErrors, MIN_CASES, retryable503, within } from './support.js'

/**
 * The HTTP fuzz: requests drawn from every operation of /openapi.json (and the routes it hides),
 * with odd methods, ids, queries, headers, content types and bodies. Whatever arrives, the
 * answer is never a 5xx (but a 503 that says when to retry), never late, and every error body
 * is a catalogue error with its own status.
 */

const MAX_MESSAGE_BYTES = 2048
/** A request that has no answer by then is a hang (generous: the machine running the suite may be loaded). */
const ANSWER_WITHIN_MS = 10_000
const RUNS = fuzzRuns(1500)
/** In `npm test` each store's run stops after this long, however many cases it reached. */
const BUDGET_MS = 25_000
/** The stores behind the default one get fewer cases in `npm test`; a long run gives each all of them. */
const STORE_RUNS = process.env.NEXUS_FUZZ_RUNS ? RUNS : 400

// A long run (NEXUS_FUZZ_RUNS) outlasts the suite's per-file timeout: give this file its own.
t.setTimeout(fuzzTimeoutMs(RUNS + 2 * STORE_RUNS, 15))

/** Routes the document hides, fuzzed all the same. */
const HIDDEN = [
  { method: 'GET', path: '/openapi.json', query: [], headers: [], bodyKeys: [] },
  { method: 'GET', path: '/metrics', query: [], headers: ['authorization'], bodyKeys: [] },
  { method: 'GET', path: '/v1/hub', query: [], headers: [], bodyKeys: [] },
]

interface Answer {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

async function fixture(app: FastifyInstance): Promise<Fixture> {
  const created = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host', greeting: 'hello' } })
  const sessionId: string = created.body.sessionId
  const joined = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' } })
  const paired = await call(app, { method: 'PUT', url: '/v1/pair', payload: { sessionId } })
  await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/messages`, headers: { 'x-agent-id': 'guest' }, payload: { text: 'hi' } })
  return { sessionId, hostKey: created.body.sessionKey, guestKey: joined.body.sessionKey, code: paired.body.code }
}

/**
 * Event streams go over a real socket (inject would wait for a stream that never ends): once a
 * stream's head arrives it has started well, and the socket is dropped.
 */
function overSocket(port: number, req: FuzzRequest): Promise<Answer> {
  // Node's client sends a GET's or HEAD's body unframed: the server answers those stray bytes as a
  // request of their own (400 from the catalogue, pinned in test/http/parser-errors.test.ts),
  // which Node's client cannot read after the first reply. So bodies are framed here.
  const framed = req.payload !== undefined ? { 'content-length': String(Buffer.byteLength(req.payload)) } : {}
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, ...framed }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      const answer = () => ({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve(answer())
        outgoing.destroy()
        return
      }
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve(answer()))
      res.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(req.payload)
  })
}

function isJsonRpcError(body: unknown): boolean {
  const error = (body as { jsonrpc?: unknown; error?: { code?: unknown; message?: unknown } }).error
  return (body as { jsonrpc?: unknown }).jsonrpc === '2.0' && typeof error?.code === 'number' && typeof error.message === 'string'
}

/** Throws, naming the request, when the answer breaks a promise of the contract. */
function check(req: FuzzRequest, answer: Answer): void {
  const fail = (why: string) => {
    throw new Error(`${why}\n  request: ${JSON.stringify({ ...req, payload: typeof req.payload === 'string' ? req.payload.slice(0, 300) : req.payload?.toString('hex').slice(0, 300) })}\n  answer: ${answer.status} ${answer.body.slice(0, 300)}`)
  }
  if (answer.headers['x-request-id'] === undefined) fail('no X-Request-Id')
  const isPage = /^text\/(markdown|html)/.test(String(answer.headers['content-type'] ?? ''))
  if (answer.status < 400 || req.method === 'HEAD') {
    if (answer.status >= 500) fail(`a ${answer.status}`)
    return
  }
  // An unknown, spent or expired pairing link is a page that says so (404), by contract.
  if (isPage && answer.status === 404 && /^\/v1\/pair\/[^/]*\/skill/.test(req.url)) return
  let body: { error?: unknown; message?: unknown; details?: unknown }
  try {
    body = JSON.parse(answer.body)
  } catch {
    return fail('an error whose body is not JSON')
  }
  // /mcp speaks JSON-RPC: the MCP transport's own refusals (a missing Accept, a body that is not
  // JSON-RPC) are JSON-RPC errors, the wire form an MCP host reads; never a 5xx.
  if (req.url.split('?')[0] === '/mcp' && answer.status < 500 && isJsonRpcError(body)) return
  if (typeof body.error !== 'string' || typeof body.message !== 'string') return fail('an error body without error and message')
  if (!httpErrors.has(`${answer.status} ${body.error}`)) fail(`${answer.status} ${body.error} is not in the catalogue`)
  if (body.details !== undefined && !Array.isArray(body.details)) fail('details is not a list')
  if (answer.status >= 500) {
    if (answer.status !== 503 || !retryable503.has(body.error)) fail(`a ${answer.status} ${body.error}`)
    if (answer.headers['retry-after'] === undefined) fail('a 503 without Retry-After')
  }
}

async function fuzz(t: Test, app: FastifyInstance, runs: number): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const doc = (await call(app, { method: 'GET', url: '/openapi.json' })).body
  const operations = [...operationsOf(doc), ...HIDDEN]
  t.ok(operations.length >= 18, `${operations.length} operations from /openapi.json and the hidden routes`)
  const seen = new Map<string, number>()
  const fixed = await fixture(app)
  const requests = fc.constantFrom(...operations).chain((op) => requestFor(op, fixed, MAX_MESSAGE_BYTES))
  const started = Date.now()
  let cases = 0
  const property = fc.asyncProperty(requests, async (req) => {
    cases++
    const answer = await within(ANSWER_WITHIN_MS, `${req.method} ${req.url}`, req.url.includes('/events')
      ? overSocket(port, req)
      : app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) })
        .then((res) => ({ status: res.statusCode, headers: res.headers, body: res.body })))
    seen.set(`${answer.status}`, (seen.get(`${answer.status}`) ?? 0) + 1)
    check(req, answer)
  })
  const outcome = await fc.check(property, fuzzOptions(runs, BUDGET_MS))
  const seconds = (Date.now() - started) / 1000
  t.comment(`${outcome.numRuns} cases in ${seconds.toFixed(1)} s (seed ${outcome.seed}); statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`)
  if (outcome.failed) t.fail(`${fc.defaultReportMessage(outcome) ?? 'the property failed'}\n${String(outcome.errorInstance)}`)
  else t.pass(`${outcome.numRuns} requests: no 5xx but retryable 503s, no hang, every error from the catalogue`)
  t.ok(outcome.numRuns >= Math.min(runs, MIN_CASES), `at least ${Math.min(runs, MIN_CASES)} cases ran (${cases} requests sent)`)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted')
  t.equal((await call(app, { method: 'GET', url: '/health' })).status, 200, 'and the server still answers')
}

t.test('every route, on the memory store', { timeout: fuzzTimeoutMs(RUNS, 10) }, async (t) => {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), MAX_AGENTS: '5' }), { logger: false, checkReplies: true })
  t.teardown(() => app.close())
  await fuzz(t, app, RUNS)
})

t.test('every route, on the SQLite store (the default)', { timeout: fuzzTimeoutMs(STORE_RUNS, 20) }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nexus-fuzz-'))
  const app = await buildApp(loadConfig({ STORE: 'sqlite', DATA_DIR: dataDir, RATE_LIMIT_MAX: '1000000', MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), MAX_AGENTS: '5' }), { logger: false, checkReplies: true })
  t.teardown(async () => {
    await app.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  await fuzz(t, app, STORE_RUNS)
})

t.test('every route, on Redis', { skip: process.env.REDIS_URL ? false : 'REDIS_URL is not set', timeout: fuzzTimeoutMs(STORE_RUNS, 20) }, async (t) => {
  const config = loadConfig({ RATE_LIMIT_MAX: '1000000', MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), MAX_AGENTS: '5' })
  const store = new RedisStore({ maxSessions: config.limits.maxSessions, maxMessagesPerSession: config.limits.maxMessagesPerSession, url: process.env.REDIS_URL!, prefix: testPrefix(t), commandTimeoutMs: 5000 })
  const app = await buildApp(config, { store, logger: false, checkReplies: true })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  await fuzz(t, app, STORE_RUNS)
})
