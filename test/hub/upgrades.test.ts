import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { WebSocket } from 'ws'
import { hubServer, rawClient } from './helpers.js'

/** Opens a WebSocket to `url` and returns the HTTP answer it got instead of an upgrade. */
async function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: any }> {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage]
  let text = ''
  for await (const chunk of response) text += chunk
  return { status: response.statusCode!, headers: response.headers, body: JSON.parse(text) }
}

t.test('an upgrade anywhere but / and /v1/hub is answered 404 from the catalogue', async (t) => {
  const { base, hubUrl } = await hubServer(t)
  for (const path of ['/v1/sessions', '/health', '/nowhere', '/v1/hub/extra']) {
    const answer = await refused(hubUrl + path)
    t.equal(answer.status, 404, path)
    t.equal(answer.body.error, 'not_found', path)
    t.match(answer.body.message, 'the hub is on / and /v1/hub', path)
    t.match(answer.headers['x-request-id'], /^[0-9a-f]{10}-[0-9a-z]+$/, path)
  }
  const named = await refused(`${hubUrl}/v1/sessions`, { 'x-request-id': 'trace-upgrade-1' })
  t.equal(named.headers['x-request-id'], 'trace-upgrade-1', 'a request id the client gave is echoed, as on HTTP')
  // The server goes on: the hub and plain HTTP both still answer.
  const client = await rawClient(t, `${hubUrl}/v1/hub?agent_id=after-refusals`)
  t.match(await client.next({ type: 'connected' }), { agent_id: 'after-refusals' })
  t.equal((await fetch(`${base}/health`)).status, 200)
})

t.test('a query string does not hide the hub', async (t) => {
  const { hubUrl } = await hubServer(t)
  const client = await rawClient(t, `${hubUrl}/?agent_id=q1&x=y`)
  t.match(await client.next({ type: 'connected' }), { agent_id: 'q1' })
})

/** Sends an upgrade request with exactly `headers` and returns the HTTP answer. */
async function handshake(base: string, path: string, headers: Record<string, string>, method = 'GET') {
  const { request } = await import('node:http')
  return new Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>((resolve, reject) => {
    const req = request(base + path, { method, headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers } })
    req.on('upgrade', () => reject(new Error('upgraded')))
    req.on('response', async (res) => {
      let text = ''
      for await (const chunk of res) text += chunk
      resolve({ status: res.statusCode!, headers: res.headers, text })
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${method} ${path}`)))
    req.end()
  })
}

t.test('an upgrade with bad WebSocket headers is answered from the catalogue, as JSON', async (t) => {
  const { base, hubUrl } = await hubServer(t)
  const key = 'dGhlIHNhbXBsZSBub25jZQ=='
  const cases: [string, Record<string, string>][] = [
    ['no Sec-WebSocket-Key', { 'sec-websocket-version': '13' }],
    ['a Sec-WebSocket-Key that is not 16 bytes', { 'sec-websocket-key': 'short', 'sec-websocket-version': '13' }],
    ['an unknown Sec-WebSocket-Version', { 'sec-websocket-key': key, 'sec-websocket-version': '99' }],
    ['a malformed Sec-WebSocket-Protocol', { 'sec-websocket-key': key, 'sec-websocket-version': '13', 'sec-websocket-protocol': 'a,,b' }],
    ['an Upgrade that is not websocket', { upgrade: 'h2c', 'sec-websocket-key': key, 'sec-websocket-version': '13' }],
  ]
  for (const path of ['/', '/v1/hub']) {
    for (const [name, headers] of cases) {
      const answer = await handshake(base, path, headers)
      t.equal(answer.status, 400, `${path}: ${name}`)
      t.match(answer.headers['content-type'], /^application\/json/, `${path}: ${name}`)
      t.match(JSON.parse(answer.text), { error: 'invalid_request', message: /Not a WebSocket upgrade/ }, `${path}: ${name}`)
      t.ok(answer.headers['x-request-id'], `${path}: ${name}: a request id`)
    }
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const answer = await handshake(base, '/v1/hub', { 'sec-websocket-key': key, 'sec-websocket-version': '13', 'transfer-encoding': 'chunked' }, method)
    t.equal(answer.status, 400, method)
    t.match(answer.headers['content-type'], /^application\/json/, method)
    t.match(JSON.parse(answer.text), { error: 'invalid_request', message: `A WebSocket opens with GET, not ${method}.` }, method)
  }
  const client = await rawClient(t, `${hubUrl}/?agent_id=after-bad-headers`)
  t.match(await client.next({ type: 'connected' }), { agent_id: 'after-bad-headers' }, 'the hub goes on')
})

t.test('an upgrade over the rate limit is answered 429 from the catalogue, as JSON', async (t) => {
  const { hubUrl } = await hubServer(t, { RATE_LIMIT_MAX: '1' })
  await rawClient(t, hubUrl)
  const answer = await refused(hubUrl)
  t.equal(answer.status, 429)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.equal(answer.body.error, 'rate_limit_exceeded')
  t.ok(Number(answer.headers['retry-after']) > 0, 'with Retry-After')
})

t.test('the hub holds at most HUB_MAX_CONNECTIONS sockets: one more is refused before the upgrade', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_MAX_CONNECTIONS: '2' })
  await rawClient(t, hubUrl)
  const second = await rawClient(t, hubUrl)
  const answer = await refused(hubUrl)
  t.equal(answer.status, 503)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.match(answer.body, { error: 'capacity_exceeded', message: /maximum of 2 connections/ })
  t.equal(answer.headers['retry-after'], '30')
  await second.close()
  await until(async () => (await probe(hubUrl)) === 'open')
})

t.test('one address holds at most HUB_MAX_CONNECTIONS_PER_IP sockets; other addresses are not held back', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: 'true' })
  const from = (ip: string) => ({ 'x-forwarded-for': ip })
  await rawClient(t, hubUrl, { headers: from('203.0.113.1') })
  const second = await rawClient(t, hubUrl, { headers: from('203.0.113.1') })
  const answer = await refused(hubUrl, from('203.0.113.1'))
  t.equal(answer.status, 503)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.match(answer.body, { error: 'capacity_exceeded', message: /at most 2 connections from one address/ })
  // The address is the one fastify works out (TRUST_PROXY), as for the rate limit.
  const other = await rawClient(t, hubUrl, { headers: from('203.0.113.2') })
  other.send({ type: 'connect', agent_id: 'elsewhere' })
  t.match(await other.next({ type: 'connected' }), { agent_id: 'elsewhere' }, 'another address still connects')
  await second.close()
  await until(async () => (await probe(hubUrl, from('203.0.113.1'))) === 'open')
  t.pass('a slot given back is free again')
})

/** Whether an upgrade to `url` is taken now ('open', then closed) or refused. */
async function probe(url: string, headers: Record<string, string> = {}): Promise<'open' | 'refused'> {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  const outcome = await Promise.race([once(ws, 'open').then(() => 'open' as const), once(ws, 'unexpected-response').then(() => 'refused' as const)])
  ws.terminate()
  return outcome
}

async function until(condition: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
