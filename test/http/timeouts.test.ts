import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { call, send, twoAgents } from '../helpers.js'
import { open, parseReply, portOf, readToClose } from './raw-http.js'

/** The app on a real socket with a short request timeout (REQUEST_TIMEOUT_SECONDS is whole seconds). */
async function listening(t: Test, requestTimeoutMs: number, env: Record<string, string> = {}) {
  const config = loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', ...env })
  const app = await buildApp({ ...config, http: { ...config.http, requestTimeoutMs } }, { logger: false, checkReplies: true })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

// Regression: half-sent requests were held for as long as the client liked (3,000 of them for
// 103 s and more), each keeping a file descriptor.
t.test('headers that never finish are cut with 408 request_timeout', async (t) => {
  const app = await listening(t, 300)
  const socket = await open(app)
  const reply = readToClose(socket)
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  const answer = parseReply(await reply)
  t.equal(answer.status, 408)
  t.equal(answer.json?.error, 'request_timeout')
  t.ok(answer.headers['x-request-id'])
})

t.test('a body that never finishes is cut with 408 request_timeout, with the request\'s own id', async (t) => {
  const app = await listening(t, 300)
  const socket = await open(app)
  const reply = readToClose(socket)
  socket.write('PUT /v1/sessions HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-body-1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ttl":')
  const answer = parseReply(await reply)
  t.equal(answer.status, 408)
  t.equal(answer.json?.error, 'request_timeout')
  t.equal(answer.headers['x-request-id'], 'slow-body-1')
  const stats = await call(app, { method: 'GET', url: '/v1/stats' })
  t.equal(stats.body.activeSessions, 0, 'nothing was created from the half body')
})

t.test('the request timeout does not cut a long-poll nor an event stream once their request is in', async (t) => {
  const app = await listening(t, 200, { SSE_KEEPALIVE_SECONDS: '1' })
  const base = `http://127.0.0.1:${portOf(app)}`
  const { sessionId } = await twoAgents(app)

  // A long-poll waiting five times the request timeout is answered by its own timer, 200.
  const polled = await fetch(`${base}/v1/sessions/${sessionId}/messages?after=0&wait=1`, { headers: { 'x-agent-id': 'guest' } })
  t.equal(polled.status, 200)
  t.same(((await polled.json()) as any).messages, [])

  // An event stream outlives the timeout many times over and still delivers.
  const controller = new AbortController()
  const stream = await fetch(`${base}/v1/sessions/${sessionId}/events?after=0&agentId=guest`, { signal: controller.signal })
  t.equal(stream.status, 200)
  let text = ''
  const reader = (async () => {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of stream.body!) text += decoder.decode(chunk as Uint8Array, { stream: true })
    } catch {
      // aborted below
    }
  })()
  // Two keep-alive comments (SSE_KEEPALIVE_SECONDS=1): the stream has lived ten timeouts.
  while ((text.match(/: keep-alive/g) ?? []).length < 2) await new Promise((resolve) => setTimeout(resolve, 20))
  await send(app, sessionId, 'host', { text: 'still here' })
  while (!text.includes('still here')) await new Promise((resolve) => setTimeout(resolve, 20))
  t.pass('a message arrived on the stream after the request timeout had passed many times')
  controller.abort()
  await reader
})
