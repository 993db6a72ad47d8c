import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { MemoryStore } from '../../src/store/memory.js'
import type { ReadRequest, SessionWatcher } from '../../src/store/store.js'
import { build, call, fakeClock, poll, send, twoAgents } from '../helpers.js'

/** Counts the store's reads and the watchers it holds, to see what a long-poll leaves behind. */
class CountingStore extends MemoryStore {
  reads = 0
  watching = 0

  override read(sessionId: string, request: ReadRequest, now: number) {
    this.reads++
    return super.read(sessionId, request, now)
  }

  override watch(sessionId: string, watcher: SessionWatcher) {
    this.watching++
    super.watch(sessionId, watcher)
  }

  override unwatch(sessionId: string, watcher: SessionWatcher) {
    this.watching--
    super.unwatch(sessionId, watcher)
  }
}

const countingStore = (t: Test) => {
  const store = new CountingStore({ maxSessions: 100, maxMessagesPerSession: 100 })
  t.teardown(() => store.close())
  return store
}

/** A long-poll by 'guest' on a real connection the test can cut: the app listens on a port. */
async function rawLongPoll(app: FastifyInstance, sessionId: string, query: string) {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const req = httpRequest({ host: '127.0.0.1', port, path: `/v1/sessions/${sessionId}/messages?${query}`, headers: { 'x-agent-id': 'guest' } })
  req.on('error', () => {})
  req.end()
  return { req, port }
}

const settled = <T>(promise: Promise<T>) => {
  const state = { done: false, value: undefined as T | undefined }
  promise.then((value) => {
    state.done = true
    state.value = value
  })
  return state
}
const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a long-poll is answered by the next send', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const started = Date.now()
  const waiting = settled(poll(app, sessionId, 'guest', 'after=0&wait=20'))
  await tick()
  t.notOk(waiting.done, 'nothing yet: the request is held')
  await send(app, sessionId, 'host', { text: 'wake up' })
  while (!waiting.done) await tick(5)
  t.equal(waiting.value!.status, 200)
  t.same(waiting.value!.body.messages.map((m: any) => m.text), ['wake up'])
  t.equal(waiting.value!.body.nextCursor, '1')
  t.ok(Date.now() - started < 10_000, 'answered long before the wait ran out')
})

t.test('something newer already there: answered at once', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app, { greeting: 'hi' })
  const res = await poll(app, sessionId, 'guest', 'wait=30')
  t.same(res.body.messages.map((m: any) => m.cursor), ['0'])
})

t.test('the wait runs out: 200 with no messages', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  await send(app, sessionId, 'host', { text: 'old' })
  const res = await poll(app, sessionId, 'guest', 'after=1&wait=0.2')
  t.same(res.body, { messages: [], nextCursor: '1', hasMore: false })
})

t.test('a wait that runs out reads the store once and stops watching', async (t) => {
  const store = countingStore(t)
  const app = await build(t, {}, { store })
  const { sessionId } = await twoAgents(app)
  const before = store.reads
  const res = await poll(app, sessionId, 'guest', 'after=0&wait=0.1')
  t.same(res.body, { messages: [], nextCursor: '0', hasMore: false })
  t.equal(store.reads - before, 1, 'the empty page read first is the answer')
  t.equal(store.watching, 0)
})

t.test('the session ends during the wait: 404', async (t) => {
  const clock = fakeClock()
  const app = await build(t, {}, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 60 })
  const waiting = settled(poll(app, sessionId, 'guest', 'wait=30'))
  await tick()
  clock.advance(61_000)
  await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  while (!waiting.done) await tick(5)
  t.same([waiting.value!.status, waiting.value!.body.error], [404, 'session_not_found'])
})

t.test('the waiting agent leaves (or is removed): 403', async (t) => {
  const app = await build(t)
  const { sessionId, guestKey } = await twoAgents(app)
  const waiting = settled(poll(app, sessionId, 'guest', 'wait=30'))
  await tick()
  await call(app, { method: 'DELETE', url: `/v1/sessions/${sessionId}/agents/guest`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey } })
  while (!waiting.done) await tick(5)
  t.same([waiting.value!.status, waiting.value!.body.error], [403, 'agent_not_in_session'])
})

t.test('shutdown answers every long-poll at once with no messages', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const started = Date.now()
  const waiting = Promise.all([poll(app, sessionId, 'guest', 'wait=60'), poll(app, sessionId, 'host', 'wait=60')])
  await tick()
  await app.close()
  const replies = await waiting
  for (const res of replies) t.same([res.status, res.body.messages], [200, []])
  t.ok(Date.now() - started < 10_000, 'did not wait for the minute')
})

t.test('caps: per address and overall, 503 capacity_exceeded beyond', async (t) => {
  const app = await build(t, { MAX_WAITERS_PER_IP: '2', MAX_WAITERS: '3' })
  const { sessionId } = await twoAgents(app)
  const held = [poll(app, sessionId, 'guest', 'wait=2'), poll(app, sessionId, 'guest', 'wait=2')]
  await tick()
  const third = await poll(app, sessionId, 'guest', 'wait=2')
  t.same([third.status, third.body.error], [503, 'capacity_exceeded'])
  t.ok(Number(third.headers['retry-after']) > 0)
  t.equal((await poll(app, sessionId, 'guest')).status, 200, 'a plain poll is never refused')
  const elsewhere = await app.inject({ method: 'GET', url: `/v1/sessions/${sessionId}/messages?wait=0.1`, headers: { 'x-agent-id': 'guest' }, remoteAddress: '10.1.1.1' })
  t.equal(elsewhere.statusCode, 200, 'another address still has room overall')
  await Promise.all(held)
  t.equal((await poll(app, sessionId, 'guest', 'wait=0.05')).status, 200, 'slots come back')
})

t.test('a closed client connection frees its slot at once', async (t) => {
  const app = await build(t, { MAX_WAITERS_PER_IP: '1' })
  const { sessionId } = await twoAgents(app)
  const { req, port } = await rawLongPoll(app, sessionId, 'wait=60')
  await tick(100)
  const blocked = await fetch(`http://127.0.0.1:${port}/v1/sessions/${sessionId}/messages?wait=0.1`, { headers: { 'x-agent-id': 'guest' } })
  t.equal(blocked.status, 503, 'the one slot is taken')
  req.destroy()
  await tick(100)
  const free = await fetch(`http://127.0.0.1:${port}/v1/sessions/${sessionId}/messages?wait=0.1`, { headers: { 'x-agent-id': 'guest' } })
  t.equal(free.status, 200, 'the slot came back when the client left')
})

t.test('a client that left before its long-poll reached the route is not waited for', async (t) => {
  const store = countingStore(t)
  const app = await build(t, {}, { store })
  // Holds long-polls back on their way to the route, as a slow rate-limit store would.
  app.addHook('preHandler', async (request) => {
    if (request.url.includes('wait=60')) await tick(300)
  })
  const { sessionId } = await twoAgents(app)
  const { req } = await rawLongPoll(app, sessionId, 'after=0&wait=60')
  await tick(100)
  req.destroy()
  await tick(400)
  const stats = await call(app, { method: 'GET', url: '/v1/stats' })
  t.equal(stats.body.waitingRequests, 0, 'no slot taken for a client already gone')
  t.equal(store.watching, 0, 'nothing watched for it')
})

t.test('a client that leaves stops the wait in the core: no watcher left, nothing read', async (t) => {
  const store = countingStore(t)
  const app = await build(t, {}, { store })
  const { sessionId } = await twoAgents(app)
  const { req } = await rawLongPoll(app, sessionId, 'after=0&wait=60')
  for (let waited = 0; store.watching === 0 && waited < 2000; waited += 5) await tick(5)
  t.equal(store.watching, 1, 'the long-poll watches the session while it waits')
  req.destroy()
  for (let waited = 0; store.watching > 0 && waited < 2000; waited += 5) await tick(5)
  t.equal(store.watching, 0, 'the core stopped watching when the client left')
  const reads = store.reads
  await send(app, sessionId, 'host', { text: 'nobody waits for this' })
  await tick(50)
  t.equal(store.reads, reads, 'the message woke nobody')
})

t.test('wait is validated', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  for (const q of ['wait=-1', 'wait=61', 'wait=soon']) {
    const res = await poll(app, sessionId, 'guest', q)
    t.same([res.status, res.body.error], [400, 'invalid_request'], q)
  }
})
