import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { http, startServer } from './process.js'

t.test('two agents pair and talk over real HTTP, then the server stops with grace', async (t) => {
  const { base, child } = await startServer(t)

  const created = await http(base, 'PUT', '/v1/sessions', {}, { creatorAgentId: 'alice', greeting: 'Hi, I am Alice.' })
  t.equal(created.status, 201)
  const { sessionId, sessionKey: aliceKey } = created.body
  const paired = await http(base, 'PUT', '/v1/pair', {}, { sessionId })
  t.equal(paired.body.url, `${base}/p/${paired.body.code}`)

  const page = await fetch(paired.body.url)
  t.equal(page.status, 200, 'the link redirects to the pairing page')
  t.match(await page.text(), `/v1/pair/${paired.body.code}/claim`)

  const claimed = await http(base, 'POST', `/v1/pair/${paired.body.code}/claim`, { 'x-agent-id': 'bob' })
  t.equal(claimed.status, 200)
  const bobKey = claimed.body.sessionKey

  const first = await http(base, 'GET', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'bob' })
  t.equal(first.body.messages[0].text, 'Hi, I am Alice.')
  await http(base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'bob', 'x-session-key': bobKey }, { text: 'Hello Alice, Bob here.' })
  const aliceSees = await http(base, 'GET', `/v1/sessions/${sessionId}/messages?after=0`, { 'x-agent-id': 'alice' })
  t.same(aliceSees.body.messages.map((m: any) => [m.agentId, m.text, m.verified]), [['bob', 'Hello Alice, Bob here.', true]])
  await http(base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'alice', 'x-session-key': aliceKey }, { json: { reply: 'welcome' } })
  const bobSees = await http(base, 'GET', `/v1/sessions/${sessionId}/messages?after=${first.body.nextCursor}`, { 'x-agent-id': 'bob' })
  t.same(bobSees.body.messages.map((m: any) => [m.agentId, m.json ?? m.text]), [['bob', 'Hello Alice, Bob here.'], ['alice', { reply: 'welcome' }]])
  t.ok(bobSees.headers.get('x-request-id'))

  const left = await http(base, 'DELETE', `/v1/sessions/${sessionId}/agents/bob`, { 'x-agent-id': 'bob', 'x-session-key': bobKey })
  t.equal(left.status, 200)
  const status = await http(base, 'GET', `/v1/sessions/${sessionId}`)
  t.same(status.body.agents, ['alice'])

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'exits 0 on SIGTERM')
})

t.test('a bad configuration stops the start with one clear line', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: 'not-a-port' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(stderr, /^nexus: PORT="not-a-port" is not valid/)
})

t.test('logs carry the request id and never a session key or a message body', async (t) => {
  const { base, child, output } = await startServer(t)
  const created = await http(base, 'PUT', '/v1/sessions', { 'x-request-id': 'trace-me-1' }, { creatorAgentId: 'alice' })
  const key = created.body.sessionKey
  await http(base, 'POST', `/v1/sessions/${created.body.sessionId}/messages`, { 'x-agent-id': 'alice', 'x-session-key': key }, { text: 'a-very-private-body' })
  child.kill('SIGTERM')
  await once(child, 'exit')
  t.match(output(), '"reqId":"trace-me-1"')
  t.notMatch(output(), key)
  t.notMatch(output(), 'a-very-private-body')
})

// Regression: under load, 3 SIGTERMs of 3 waited out the 10 s force and exited 1, and requests
// meanwhile got Fastify's `503 {"error":"Service Unavailable"}` with no Retry-After.
t.test('SIGTERM under load: held requests answered, streams ended, new requests refused from the catalogue, exit 0', async (t) => {
  const { base, child, output } = await startServer(t, { RATE_LIMIT_MAX: '1000000' })
  const created = await http(base, 'PUT', '/v1/sessions', {}, { creatorAgentId: 'alice' })
  const { sessionId, sessionKey } = created.body
  const url = new URL(base)
  // A quiet session, where nothing wakes a held request but the shutdown.
  const quiet = (await http(base, 'PUT', '/v1/sessions', {}, { creatorAgentId: 'bob' })).body.sessionId

  // Held long-polls and event streams: the shutdown must answer and end them.
  const longPolls = Array.from({ length: 8 }, () =>
    fetch(`${base}/v1/sessions/${quiet}/messages?after=0&wait=60`, { headers: { 'x-agent-id': 'bob' } })
      .then(async (response) => ({ status: response.status, body: (await response.json()) as any })))
  const streams = await Promise.all(Array.from({ length: 4 }, async () => {
    const response = await fetch(`${base}/v1/sessions/${quiet}/events?agentId=bob`)
    return response.body!.getReader()
  }))
  const streamTexts = streams.map(async (reader) => {
    let text = ''
    const decoder = new TextDecoder()
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
      if (done) return text
      text += decoder.decode(value, { stream: true })
    }
  })
  // Bodies that trickle in and idle keep-alive connections: they must not hold the close.
  const slow = await Promise.all(Array.from({ length: 4 }, () => new Promise<Socket>((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`POST /v1/sessions/${sessionId}/messages HTTP/1.1\r\nHost: x\r\nX-Agent-Id: alice\r\nContent-Length: 100\r\n\r\n{"text":`)
      resolve(socket)
    })
    socket.on('error', () => undefined)
  })))
  t.teardown(() => slow.forEach((socket) => socket.destroy()))
  const slowAnswers = slow.map((socket) => new Promise<string>((resolve) => {
    let text = ''
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
    socket.once('close', () => resolve(text))
  }))

  // Keep-alive loops sending and polling as fast as they can, until the server is gone.
  const replies: Array<{ status: number; body: any; retryAfter: string | null }> = []
  let stopped = false
  const loop = async (i: number) => {
    while (!stopped) {
      try {
        const response = i % 2 === 0
          ? await fetch(`${base}/v1/sessions/${sessionId}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-agent-id': 'alice', 'x-session-key': sessionKey }, body: JSON.stringify({ text: `m${i}` }) })
          : await fetch(`${base}/v1/sessions/${sessionId}/messages?after=0&limit=5`, { headers: { 'x-agent-id': 'alice' } })
        const text = await response.text()
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = text
        }
        replies.push({ status: response.status, body, retryAfter: response.headers.get('retry-after') })
      } catch {
        // Refused or reset: the server has stopped listening. Expected once it closes.
        return
      }
    }
  }
  const loops = Array.from({ length: 8 }, (_, i) => loop(i))
  while (replies.length < 200) await new Promise((resolve) => setTimeout(resolve, 10))

  const exited = once(child, 'exit')
  const signalled = Date.now()
  child.kill('SIGTERM')
  const [code] = await exited
  t.comment(`closed ${Date.now() - signalled} ms after SIGTERM; ${replies.length} replies, ${replies.filter((reply) => reply.status === 503).length} of them 503`)
  stopped = true
  await Promise.all(loops)
  t.equal(code, 0, 'exits 0, within its bound (the force exits 1)')
  t.notMatch(output(), 'exiting anyway')

  for (const held of await Promise.all(longPolls)) t.same([held.status, held.body.messages], [200, []], 'a held long-poll is answered, empty')
  for (const text of await Promise.all(streamTexts)) t.match(text, 'event: shutdown', 'an event stream is told and ended')
  for (const text of await Promise.all(slowAnswers)) t.match(text, /^HTTP\/1\.1 503 [^]*"error":"shutting_down"/, 'a body still trickling in is refused, not held')
  const refused = replies.filter((reply) => reply.status >= 400)
  for (const reply of refused) {
    t.same([reply.status, reply.body?.error], [503, 'shutting_down'], 'refused from the catalogue')
    t.ok(Number(reply.retryAfter) > 0, 'with Retry-After')
  }
  t.ok(replies.filter((reply) => reply.status < 300).length >= 200, 'the load was served before the signal')
  t.ok(refused.length > 0, 'requests that came during the close were refused, not reset')
})

t.test('METRICS_PORT: the process serves the metrics on a port of their own, and closes it on SIGTERM', async (t) => {
  const { createServer } = await import('node:net')
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const metricsPort = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
  const token = 'an-operator-token-0123456789'
  const { base, child, output } = await startServer(t, { METRICS_PORT: String(metricsPort), METRICS_TOKEN: token })
  for (let i = 0; i < 600 && !output().includes('metrics listening'); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await http(base, 'GET', '/metrics')).body.error, 'not_found', 'not on the API port')
  const metricsBase = `http://127.0.0.1:${metricsPort}`
  t.equal((await http(metricsBase, 'GET', '/metrics')).status, 403, 'not without the token')
  await http(base, 'PUT', '/v1/sessions', {}, {})
  const scraped = await fetch(`${metricsBase}/metrics`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(scraped.status, 200)
  t.match(await scraped.text(), /^nexus_sessions_live 1$/m)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'exits 0')
})
