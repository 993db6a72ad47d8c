import t from 'tap'
import { build, call, fakeClock, poll, send, twoAgents } from '../helpers.js'

t.test('expiry slides on send, join and renew, not on poll', async (t) => {
  const clock = fakeClock()
  const app = await build(t, {}, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 60 })
  const status = () => call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })

  clock.advance(50_000)
  await poll(app, sessionId, 'guest')
  clock.advance(9_000)
  t.equal((await status()).status, 200, 'alive at 59 s')
  clock.advance(1_000)
  t.equal((await status()).status, 404, 'polling did not slide: gone at 60 s')
})

t.test('send keeps a session alive past its first ttl', async (t) => {
  const clock = fakeClock()
  const app = await build(t, {}, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 60 })
  for (let i = 0; i < 5; i++) {
    clock.advance(50_000)
    t.equal((await send(app, sessionId, 'host', { text: `tick ${i}` })).status, 201)
  }
  clock.advance(50_000)
  const join = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'late' } })
  t.equal(join.status, 200, 'alive 300 s later')
  clock.advance(50_000)
  t.equal((await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'late' } })).status, 200)
  clock.advance(59_000)
  t.equal((await poll(app, sessionId, 'guest')).status, 200)
  clock.advance(1_000)
  const gone = await poll(app, sessionId, 'guest')
  t.same([gone.status, gone.body.error], [404, 'session_not_found'])
})

t.test('an expired session answers 404 everywhere and its codes die with it', async (t) => {
  const clock = fakeClock()
  const app = await build(t, {}, { clock: clock.now })
  const { sessionId, guestKey } = await twoAgents(app, { ttl: 60 })
  const { code } = (await call(app, { method: 'PUT', url: '/v1/pair', payload: { sessionId } })).body
  clock.advance(60_000)
  const calls = [
    call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` }),
    call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'x' } }),
    send(app, sessionId, 'guest', { text: 'x' }),
    poll(app, sessionId, 'guest'),
    call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'guest' } }),
    call(app, { method: 'DELETE', url: `/v1/sessions/${sessionId}/agents/guest`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey } }),
    call(app, { method: 'PUT', url: '/v1/pair', payload: { sessionId } }),
  ]
  for (const res of await Promise.all(calls)) t.same([res.status, res.body.error], [404, 'session_not_found'])
  const claim = await call(app, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': 'x' } })
  t.equal(claim.status, 404)
  t.equal((await call(app, { method: 'GET', url: `/v1/pair/${code}/status` })).body.state, 'expired')
})

t.test('expired sessions are swept: memory comes back', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { MAX_SESSIONS: '3' }, { clock: clock.now })
  for (let i = 0; i < 3; i++) t.equal((await call(app, { method: 'PUT', url: '/v1/sessions', payload: { ttl: 60 } })).status, 201)
  const full = await call(app, { method: 'PUT', url: '/v1/sessions' })
  t.same([full.status, full.body.error], [503, 'capacity_exceeded'])
  t.ok(Number(full.headers['retry-after']) > 0, 'Retry-After is set')
  t.equal((await call(app, { method: 'GET', url: '/v1/stats' })).body.activeSessions, 3)
  clock.advance(61_000)
  t.equal((await call(app, { method: 'GET', url: '/v1/stats' })).body.activeSessions, 0)
  t.equal((await call(app, { method: 'PUT', url: '/v1/sessions' })).status, 201, 'the slots are free again')
})

t.test('creator rules: joined at creation, cannot leave, never removed for inactivity', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { AGENT_INACTIVITY_SECONDS: '30' }, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 600 })
  clock.advance(31_000)
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  t.same(status.body.agents, ['host'], 'the idle guest is removed, the idle creator stays')
})

t.test('inactivity removal: polling or sending keeps a member; the removed may join again', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { AGENT_INACTIVITY_SECONDS: '30' }, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 600 })
  await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'talker' } })
  for (let i = 0; i < 3; i++) {
    clock.advance(20_000)
    t.equal((await poll(app, sessionId, 'guest')).status, 200)
    t.equal((await send(app, sessionId, 'talker', { text: 'still here' })).status, 201)
  }
  clock.advance(31_000)
  const removed = await poll(app, sessionId, 'guest')
  t.same([removed.status, removed.body.error], [403, 'agent_not_in_session'])
  const rejoin = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' } })
  t.equal(rejoin.status, 200)
})

t.test('inactivity removal is off by default', async (t) => {
  const clock = fakeClock()
  const app = await build(t, {}, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 86400 })
  clock.advance(80_000_000)
  t.equal((await poll(app, sessionId, 'guest')).status, 200)
})
