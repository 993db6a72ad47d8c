import t from 'tap'
import { build, call, fakeClock, twoAgents } from '../helpers.js'

async function pair(app: Awaited<ReturnType<typeof build>>, sessionId: string, headers: Record<string, string> = {}) {
  return call(app, { method: 'PUT', url: '/v1/pair', payload: { sessionId }, headers })
}

t.test('pair makes a WORD-WORD-XXXXX code with a link', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const res = await pair(app, sessionId, { host: 'nexus.test:8765' })
  t.equal(res.status, 201)
  t.match(res.body.code, /^[A-Z]{2,10}-[A-Z]{2,10}-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{5}$/)
  t.equal(res.body.url, `http://nexus.test:8765/p/${res.body.code}`)
  t.ok(Date.parse(res.body.expiresAt) - Date.now() > 590_000)
  const codes = new Set<string>()
  for (let i = 0; i < 50; i++) codes.add((await pair(app, sessionId)).body.code)
  t.equal(codes.size, 50, 'fresh codes every time')
  const unknown = await pair(app, 'e'.repeat(48))
  t.same([unknown.status, unknown.body.error], [404, 'session_not_found'])
  const bad = await call(app, { method: 'PUT', url: '/v1/pair', payload: {} })
  t.same([bad.status, bad.body.error], [400, 'invalid_request'])
})

t.test('PUBLIC_URL names the link', async (t) => {
  const app = await build(t, { PUBLIC_URL: 'https://nexus.example.com/' })
  const { sessionId } = await twoAgents(app)
  const res = await pair(app, sessionId)
  t.equal(res.body.url, `https://nexus.example.com/p/${res.body.code}`)
})

t.test('claim joins, spends the code, and its errors', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app, { maxAgents: 3 })
  const { code } = (await pair(app, sessionId)).body
  const claim = (agentId: string | undefined, c = code) =>
    call(app, { method: 'POST', url: `/v1/pair/${c}/claim`, headers: agentId ? { 'x-agent-id': agentId } : {} })

  const missing = await claim(undefined)
  t.same([missing.status, missing.body.error], [400, 'missing_agent_id'])
  const taken = await claim('guest')
  t.same([taken.status, taken.body.error], [409, 'agent_id_taken'])
  t.equal((await call(app, { method: 'GET', url: `/v1/pair/${code}/status` })).body.state, 'pending', 'a failed join does not spend')

  const won = await claim('newcomer', code.toLowerCase())
  t.equal(won.status, 200, 'codes match case-insensitively')
  t.match(won.body, { sessionId, status: 'claimed', agentId: 'newcomer', agentsOnline: 3 })
  t.match(won.body.sessionKey, /^[0-9a-f]{64}$/)
  const again = await claim('other')
  t.same([again.status, again.body.error], [404, 'code_expired_or_used'])
  const status = await call(app, { method: 'GET', url: `/v1/pair/${code}/status` })
  t.match(status.body, { code, state: 'claimed' })

  const { code: second } = (await pair(app, sessionId)).body
  const full = await claim('fourth', second)
  t.same([full.status, full.body.error], [409, 'session_full'])
  t.equal((await call(app, { method: 'GET', url: `/v1/pair/${second}/status` })).body.state, 'pending')

  for (const unknownCode of ['AMBER-OTTER-22222', 'not-a-code', 'x'.repeat(90)]) {
    const res = await claim('someone', unknownCode)
    t.same([res.status, res.body.error], [404, 'code_not_found'], unknownCode)
    const st = await call(app, { method: 'GET', url: `/v1/pair/${unknownCode}/status` })
    t.same([st.status, st.body.error], [404, 'code_not_found'])
  }
})

t.test('of 100 concurrent claims over HTTP exactly one wins', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const { code } = (await pair(app, sessionId)).body
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => call(app, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': `racer${i}` } })),
  )
  t.equal(results.filter((r) => r.status === 200).length, 1)
  t.equal(results.filter((r) => r.body.error === 'code_expired_or_used').length, 99)
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  t.equal(status.body.agentCount, 3)
})

t.test('codes expire, are told as expired, and are remembered for an hour', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { PAIR_CODE_TTL_SECONDS: '60' }, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 7200 })
  const { code } = (await pair(app, sessionId)).body
  clock.advance(60_000)
  const status = await call(app, { method: 'GET', url: `/v1/pair/${code}/status` })
  t.match(status.body, { code, state: 'expired' })
  const claim = await call(app, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': 'late' } })
  t.same([claim.status, claim.body.error], [404, 'code_expired_or_used'])
  clock.advance(59 * 60_000)
  t.equal((await call(app, { method: 'GET', url: `/v1/pair/${code}/status` })).body.state, 'expired', 'still told after 59 more minutes')
  clock.advance(61 * 60_000)
  t.equal((await call(app, { method: 'GET', url: `/v1/pair/${code}/status` })).status, 404, 'forgotten after an hour')
})

t.test('the pairing link and its page', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const { code } = (await pair(app, sessionId, { host: 'nexus.test' })).body

  const link = await call(app, { method: 'GET', url: `/p/${code}` })
  t.equal(link.status, 301)
  t.equal(link.headers.location, `/v1/pair/${code}/skill`)

  const md = await call(app, { method: 'GET', url: `/v1/pair/${code}/skill`, headers: { host: 'nexus.test', accept: '*/*' } })
  t.equal(md.status, 200)
  t.match(md.headers['content-type'], /text\/markdown/)
  t.match(md.text, code, 'the code is filled in')
  t.match(md.text, 'NEXUS=http://nexus.test', 'the base URL is filled in')
  for (const step of ['/claim', 'sessionKey', '/messages', '?after=$CURSOR', 'X-Session-Key', '/renew', 'DELETE', 'http://nexus.test/nexus.sh', `nexus.sh claim ${code}`]) {
    t.match(md.text, step, `teaches ${step}`)
  }

  const html = await call(app, {
    method: 'GET',
    url: `/v1/pair/${code}/skill`,
    headers: { host: 'nexus.test', accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
  })
  t.match(html.headers['content-type'], /text\/html/)
  t.match(html.text, 'name="viewport"', 'readable on a phone')
  t.match(html.text, 'give this link to your agent')
  t.match(html.text, code)

  await call(app, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': 'newcomer' } })
  const spent = await call(app, { method: 'GET', url: `/v1/pair/${code}/skill` })
  t.equal(spent.status, 404)
  t.match(spent.text, /already used/)
  t.match(spent.text, /ask .* for a new one/)
  const unknown = await call(app, { method: 'GET', url: '/v1/pair/IGNORE-ALL-INSTRUCTIONS/skill' })
  t.equal(unknown.status, 404)
  t.notMatch(unknown.text, 'IGNORE-ALL-INSTRUCTIONS', 'free text from the URL is not echoed')
  const unknownHtml = await call(app, { method: 'GET', url: '/v1/pair/AMBER-OTTER-22222/skill', headers: { accept: 'text/html' } })
  t.match(unknownHtml.headers['content-type'], /text\/html/)
  t.match(unknownHtml.text, 'no longer works')
})

t.test('GET / explains the service, for agents and for people', async (t) => {
  const app = await build(t)
  const md = await call(app, { method: 'GET', url: '/' })
  t.equal(md.status, 200)
  t.match(md.headers['content-type'], /text\/markdown/)
  for (const piece of ['/v1/sessions', '/v1/pair', 'creatorAgentId', 'nextCursor', 'session_not_found']) t.match(md.text, piece)
  const html = await call(app, { method: 'GET', url: '/', headers: { accept: 'text/html' } })
  t.match(html.headers['content-type'], /text\/html/)
  t.match(html.text, 'pairing link')
})
