import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { call, poll, send } from '../helpers.js'
import { createOnAWriteOnB, instance, testPrefix } from './support.js'

/**
 * Two Nexus instances on one Redis, as behind a load balancer: any instance serves any request
 * of any session, and a send through one wakes a wait held by the other at once.
 */

async function pair(t: Test, env: Record<string, string> = {}) {
  const prefix = testPrefix(t)
  // These tests are about sharing state, not timeouts (test/scale/outage.test.ts is).
  const a = await instance(t, prefix, env, undefined, 5000)
  const b = await instance(t, prefix, env, undefined, 5000)
  return { a: a.app, b: b.app, prefix }
}

t.test('create on one instance, join and send on the other, read on the first', async (t) => {
  const { a, b } = await pair(t)
  const { id } = await createOnAWriteOnB(t, a, b)
  const status = await call(a, { method: 'GET', url: `/v1/sessions/${id}` })
  t.same(status.body.agents, ['host', 'guest'])
  const stats = await call(b, { method: 'GET', url: '/v1/stats' })
  t.match(stats.body, { activeSessions: 1, totalAgents: 2, totalMessages: 2 })
  const health = await call(a, { method: 'GET', url: '/health' })
  t.equal(health.status, 200)
  t.match(health.body, { status: 'ok', store: 'redis', storeReachable: true })
})

t.test('a long-poll held by instance A is answered by a send through instance B, at once', async (t) => {
  const { a, b } = await pair(t)
  const created = await call(a, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const id: string = created.body.sessionId
  await call(b, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': 'guest' } })
  for (let round = 1; round <= 3; round++) {
    const waiting = poll(a, id, 'guest', `after=${round - 1}&wait=10`)
    await new Promise((resolve) => setTimeout(resolve, 150))
    const sentAt = performance.now()
    const sent = await send(b, id, 'host', { text: `round ${round}` })
    t.equal(sent.status, 201)
    const page = await waiting
    const latency = performance.now() - sentAt
    t.same(page.body.messages.map((m: { text: string }) => m.text), [`round ${round}`])
    t.ok(latency < 500, `woken ${latency.toFixed(1)} ms after the send (well under 1 s)`)
  }
})

t.test('an event stream on instance A carries messages sent through instance B', async (t) => {
  const { a, b } = await pair(t)
  await a.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`
  const created = await call(b, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const id: string = created.body.sessionId
  await call(b, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': 'guest' } })
  const stop = new AbortController()
  const res = await fetch(`${base}/v1/sessions/${id}/events?agentId=guest&after=0`, { signal: stop.signal })
  t.equal(res.status, 200)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const next = async (): Promise<string> => {
    for (;;) {
      const split = buffer.indexOf('\n\n')
      if (split >= 0) {
        const block = buffer.slice(0, split)
        buffer = buffer.slice(split + 2)
        if (block.includes('event: message')) return block
        continue
      }
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      buffer += decoder.decode(value, { stream: true })
    }
  }
  for (let i = 1; i <= 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const sentAt = performance.now()
    await send(b, id, 'host', { text: `event ${i}` })
    const block = await next()
    const latency = performance.now() - sentAt
    t.match(block, new RegExp(`^id: ${i}\\n`))
    t.match(block, `"text":"event ${i}"`)
    t.ok(latency < 500, `streamed ${latency.toFixed(1)} ms after the send`)
  }
  stop.abort()
  await reader.cancel().catch(() => {})
})

t.test('an end through instance B holds on instance A: its long-poll gets the final message, its sends are refused', async (t) => {
  const { a, b } = await pair(t)
  const { id, guestKey } = await createOnAWriteOnB(t, a, b)
  const waiting = poll(a, id, 'host', 'after=1&wait=10')
  await new Promise((resolve) => setTimeout(resolve, 150))
  const ended = await call(b, { method: 'POST', url: `/v1/sessions/${id}/end`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey }, payload: { reason: 'done' } })
  t.equal(ended.status, 200)
  const page = await waiting
  t.same(page.body.messages.map((m: { agentId: string; cursor: string }) => [m.agentId, m.cursor]), [['system', '2']])
  t.match(page.body.ended, { by: 'guest', reason: 'done', cursor: '2' })
  const refused = await send(a, id, 'host', { text: 'still there?' })
  t.equal(refused.status, 409)
  t.equal(refused.body.error, 'channel_ended')
  t.match((await call(a, { method: 'GET', url: `/v1/sessions/${id}` })).body.ended, { by: 'guest', cursor: '2' })
})

t.test('50 concurrent claims of one code across both instances: exactly one wins', async (t) => {
  const { a, b } = await pair(t)
  const created = await call(a, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host', maxAgents: 50 } })
  const id: string = created.body.sessionId
  const paired = await call(b, { method: 'PUT', url: '/v1/pair', payload: { sessionId: id } })
  t.equal(paired.status, 201)
  const code: string = paired.body.code
  const claims = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    call(i % 2 === 0 ? a : b, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': `claimer${i}` }, remoteAddress: `10.2.${i}.1` })))
  t.equal(claims.filter((r) => r.status === 200).length, 1, 'one winner')
  t.equal(claims.filter((r) => r.status === 404 && r.body.error === 'code_expired_or_used').length, 49, 'the rest find it spent')
  const status = await call(b, { method: 'GET', url: `/v1/sessions/${id}` })
  t.equal(status.body.agentCount, 2)
  const code2 = await call(a, { method: 'GET', url: `/v1/pair/${code}/status` })
  t.equal(code2.body.state, 'claimed')
})

t.test('the pairing failure budget is one count across both instances', async (t) => {
  const { a, b } = await pair(t, { PAIR_FAILURES_MAX: '4' })
  const guess = (app: typeof a, n: number, remoteAddress = '198.51.100.4') =>
    call(app, { method: 'POST', url: `/v1/pair/WRONG-GUESS-${'23456789'[n]!.repeat(5)}/claim`, headers: { 'x-agent-id': 'guesser' }, remoteAddress })
  const answers = []
  for (let i = 0; i < 6; i++) answers.push((await guess(i % 2 === 0 ? a : b, i)).status)
  t.same(answers, [404, 404, 404, 404, 429, 429], 'four failures in all, whichever instance took them')
  const elsewhere = await guess(a, 7, '198.51.100.5')
  t.equal(elsewhere.status, 404, 'and only for that address')
})

t.test('20 agents racing to join a session of 10 across both instances: exactly 10 get in', async (t) => {
  const { a, b } = await pair(t)
  const created = await call(a, { method: 'PUT', url: '/v1/sessions', payload: { maxAgents: 10 } })
  const id: string = created.body.sessionId
  const joins = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    call(i % 2 === 0 ? a : b, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': `agent${i}` } })))
  t.equal(joins.filter((r) => r.status === 200).length, 10)
  t.equal(joins.filter((r) => r.status === 409 && r.body.error === 'session_full').length, 10)
  const status = await call(b, { method: 'GET', url: `/v1/sessions/${id}` })
  t.equal(status.body.agentCount, 10)
})

t.test('500 concurrent sends through both instances get cursors 1..500, no gap, no repeat', async (t) => {
  const { a, b } = await pair(t)
  const created = await call(a, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const id: string = created.body.sessionId
  await call(b, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': 'guest' } })
  const sends = await Promise.all(Array.from({ length: 500 }, (_, i) =>
    send(i % 2 === 0 ? a : b, id, i % 3 === 0 ? 'host' : 'guest', { text: `m${i}` })))
  t.equal(sends.filter((r) => r.status === 201).length, 500)
  const cursors = sends.map((r) => Number(r.body.cursor)).sort((x, y) => x - y)
  t.same(cursors, Array.from({ length: 500 }, (_, i) => i + 1))
  const page = await poll(b, id, 'host', 'after=0&limit=1000')
  t.equal(page.body.messages.length, 500)
  const byCursor = new Map(sends.map((r, i) => [r.body.cursor as string, `m${i}`]))
  t.ok(page.body.messages.every((m: { cursor: string; text: string }) => byCursor.get(m.cursor) === m.text), 'each cursor holds the message it was given')
})

t.test('an instance that dies loses nothing: a client resumes from its cursor on another', async (t) => {
  const prefix = testPrefix(t)
  const a = await instance(t, prefix, {}, undefined, 5000)
  const b = await instance(t, prefix, {}, undefined, 5000)
  const created = await call(a.app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const id: string = created.body.sessionId
  await call(a.app, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': 'guest' } })
  for (let i = 1; i <= 20; i++) await send(a.app, id, 'host', { text: `m${i}` })
  const first = await poll(a.app, id, 'guest', 'after=0&limit=5')
  const cursor = first.body.nextCursor
  t.equal(cursor, '5')
  await a.app.close()
  await a.store.close()
  const rest = await poll(b.app, id, 'guest', `after=${cursor}`)
  t.same(rest.body.messages.map((m: { text: string }) => m.text), Array.from({ length: 15 }, (_, i) => `m${i + 6}`))
})

t.test('the rate limit counts across instances', async (t) => {
  const { a, b } = await pair(t, { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await call(i % 2 === 0 ? a : b, { method: 'PUT', url: '/v1/sessions' })).status)
  t.same(statuses, [201, 201, 201, 201, 201, 429])
  const over = await call(a, { method: 'PUT', url: '/v1/sessions' })
  t.equal(over.headers['x-ratelimit-remaining'], '0')
})
