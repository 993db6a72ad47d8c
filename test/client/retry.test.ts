import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { isNexusError, NexusApiError, NexusTransportError } from '../../src/client/index.js'
import { parseRetryAfter } from '../../src/client/http.js'
import { clientOf, serve } from './server.js'

/** A bare HTTP server that answers as `handle` says, counting the requests it got. */
async function fake(t: Test, handle: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let count = 0
  const server = createServer((req, res) => handle(req, res, ++count))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => count }
}

t.test('429: the client waits Retry-After and succeeds', async (t) => {
  const { baseUrl } = await serve(t, { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_SECONDS: '1' })
  const impatient = clientOf(t, baseUrl, { agentId: 'alice', maxRetries: 0 })
  const patient = clientOf(t, baseUrl, { agentId: 'alice' })

  const { sessionId } = await impatient.createSession({ creatorAgentId: 'alice' })
  await impatient.stats()
  const refused = await impatient.stats().catch((err: unknown) => err)
  t.ok(isNexusError(refused, 'rate_limit_exceeded'))
  t.match(refused, { status: 429 })
  t.ok((refused as NexusApiError).retryAfter! >= 0 && (refused as NexusApiError).retryAfter! <= 1, 'Retry-After is read')
  t.ok((await patient.health()).status, '/health is not limited')

  const started = Date.now()
  const sent = await patient.send(sessionId, 'after the wait', { sessionKey: impatient.sessionKey(sessionId) })
  t.equal(sent.verified, true, 'a POST refused with 429 is sent again')
  await patient.stats()
  await patient.stats()
  t.ok(Date.now() - started >= 300, 'it waited for the window')
})

t.test('503 capacity_exceeded is retried after Retry-After (capped)', async (t) => {
  const { baseUrl } = await serve(t, { MAX_WAITERS_PER_IP: '1' })
  const alice = clientOf(t, baseUrl, { agentId: 'alice', maxRetries: 0 })
  const patient = clientOf(t, baseUrl, { agentId: 'alice', maxRetryAfterMs: 50, maxRetries: 20 })
  const { sessionId } = await alice.createSession({ creatorAgentId: 'alice' })

  const holding = alice.poll(sessionId, { wait: 0.4 })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const refused = await alice.poll(sessionId, { wait: 0.1 }).catch((err: unknown) => err)
  t.match(refused, { code: 'capacity_exceeded', status: 503, retryAfter: 30 })
  const page = await patient.poll(sessionId, { wait: 0.05 })
  t.same(page.messages, [], 'accepted once the first long-poll ended')
  await holding
})

t.test('503 shutting_down is retried after Retry-After, a POST too: the server did nothing', async (t) => {
  const stopping = await fake(t, (_req, res, n) => {
    if (n === 1) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' })
      return res.end(JSON.stringify({ error: 'shutting_down', message: 'The server is shutting down; retry shortly.' }))
    }
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ id: 'msg_x', cursor: '1', expiresAt: new Date().toISOString(), verified: false, redactions: [] }))
  })
  const client = clientOf(t, stopping.baseUrl, { agentId: 'a', maxRetryAfterMs: 10 })
  const sent = await client.send('f'.repeat(48), 'hello')
  t.equal(sent.cursor, '1')
  t.equal(stopping.requests(), 2, 'sent again once')
})

t.test('transport failures: GET retried with backoff, other methods not', async (t) => {
  const dropping = await fake(t, (req) => req.socket.destroy())
  const client = clientOf(t, dropping.baseUrl, { agentId: 'a', maxRetries: 2 })
  const err = await client.stats().catch((e: unknown) => e)
  t.ok(err instanceof NexusTransportError)
  t.ok(isNexusError(err, 'network_error'))
  t.equal(dropping.requests(), 3, 'a GET is tried 1 + maxRetries times')
  await t.rejects(client.createSession(), { name: 'NexusTransportError', code: 'network_error' })
  t.equal(dropping.requests(), 4, 'a PUT is tried once')

  const gone = createServer()
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve))
  const port = (gone.address() as AddressInfo).port
  await new Promise((resolve) => gone.close(resolve))
  await t.rejects(clientOf(t, `http://127.0.0.1:${port}`, { maxRetries: 0 }).health(), { code: 'network_error' }, 'a refused connection')

  const silent = await fake(t, () => {})
  const started = Date.now()
  await t.rejects(clientOf(t, silent.baseUrl, { timeoutMs: 100, maxRetries: 0 }).health(), { code: 'timeout' })
  t.ok(Date.now() - started < 2000, 'the timeout is kept')
})

t.test('replies outside the catalogue', async (t) => {
  const gateway = await fake(t, (req, res, n) => {
    if (req.url === '/health' && n <= 1) {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>')
    } else if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    } else if (req.url === '/v1/stats') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')
    } else {
      res.writeHead(418, { 'content-type': 'application/json', 'x-request-id': 'r-1' }).end('{"error":"I\'m a teapot"}')
    }
  })
  const client = clientOf(t, gateway.baseUrl, { agentId: 'a' })
  t.equal((await client.health()).status, 'ok', 'a 502 on a GET is retried')
  await t.rejects(client.stats(), { name: 'NexusTransportError', code: 'invalid_response' })
  await t.rejects(client.createSession(), { name: 'NexusApiError', code: 'http_418', status: 418, requestId: 'r-1' })
})

t.test('Retry-After: seconds or an HTTP date', async (t) => {
  t.equal(parseRetryAfter('7'), 7)
  t.equal(parseRetryAfter(undefined), undefined)
  t.equal(parseRetryAfter('soon'), undefined)
  const now = Date.parse('2026-01-01T00:00:00Z')
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5)
})
