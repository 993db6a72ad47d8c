import t from 'tap'
import { NexusApiError, NexusTransportError } from '../../src/client/index.js'
import { isRetryable, retryDelay } from '../../src/client/retry.js'
import { retryTable } from '../api-rules.js'
import { clientOf, serve } from './server.js'

const api = (status: number, code: string, retryAfter?: number) => new NexusApiError({ status, code, message: 'm', retryAfter })
const transport = (code: 'timeout' | 'network_error' | 'invalid_response') => new NexusTransportError(code, 'm')

/** Failures of each kind the table names, as the client sees them (`http_<status>`: not JSON). */
const examples: Record<string, unknown[]> = {
  'no reply: refused, reset, timed out': [transport('network_error'), transport('timeout')],
  '`429` (`rate_limit_exceeded`)': [api(429, 'rate_limit_exceeded'), api(429, 'http_429')],
  '`503 capacity_exceeded`, `503 shutting_down`': [api(503, 'capacity_exceeded'), api(503, 'shutting_down')],
  'any other `5xx`, JSON or not': [api(500, 'internal_error'), api(502, 'http_502'), api(503, 'store_unavailable'), api(503, 'http_503'), api(504, 'http_504')],
  'a `2xx` that is not JSON': [transport('invalid_response')],
  'any other `4xx`, JSON or not': [api(400, 'invalid_request'), api(403, 'forbidden'), api(404, 'session_not_found'), api(404, 'http_404'), api(409, 'agent_id_taken'), api(413, 'payload_too_large')],
}

t.test('the client retries exactly as the table in references/api.md says', async (t) => {
  const table = retryTable()
  t.same(table.map((row) => row.failure).sort(), Object.keys(examples).sort(), 'the test has examples for every row, and only those')
  for (const row of table) {
    for (const err of examples[row.failure] ?? []) {
      const name = `${row.failure}: ${(err as Error & { code: string }).code}`
      t.equal(isRetryable(err, 'GET'), row.get, `${name}, GET`)
      for (const method of ['PUT', 'POST', 'DELETE']) t.equal(isRetryable(err, method), row.other, `${name}, ${method}`)
    }
  }
  t.notOk(isRetryable(new Error('a bug of the caller'), 'GET'), 'anything else is not a failure of the request')
})

t.test('the wait: Retry-After when the reply has it (capped), else the backoff', async (t) => {
  const policy = { backoff: { initialDelayMs: 100, maxDelayMs: 1000 }, maxRetryAfterMs: 5000 }
  t.equal(retryDelay(api(429, 'rate_limit_exceeded', 2), 0, policy), 2000)
  t.equal(retryDelay(api(503, 'shutting_down', 60), 0, policy), 5000, 'capped')
  for (const attempt of [0, 1, 2, 3, 10]) {
    const delay = retryDelay(transport('network_error'), attempt, policy)
    const ceiling = Math.min(1000, 100 * 2 ** attempt)
    t.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay} ms within [${ceiling / 2}, ${ceiling}]`)
  }
})

t.test('a GET answered 500 is sent again; a POST answered 500 is not', async (t) => {
  const { baseUrl } = await serve(t)
  let calls = 0
  const { createServer } = await import('node:http')
  const flaky = createServer((req, res) => {
    calls++
    if (calls === 1 || req.method !== 'GET') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal_error","message":"x"}')
      return
    }
    fetch(baseUrl + req.url).then(async (reply) => res.writeHead(reply.status, { 'content-type': 'application/json' }).end(await reply.text()))
  })
  await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => flaky.close(() => resolve())))
  const client = clientOf(t, `http://127.0.0.1:${(flaky.address() as { port: number }).port}`, { agentId: 'a', backoff: { initialDelayMs: 1, maxDelayMs: 2 } })
  t.equal((await client.health()).status, 'ok')
  t.equal(calls, 2, 'the GET was tried twice')
  await t.rejects(client.createSession(), { code: 'internal_error', status: 500 })
  t.equal(calls, 3, 'the PUT was tried once')
})
