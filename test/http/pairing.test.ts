import t from 'tap'
import { build, call, fakeClock, twoAgents } from '../helpers.js'

async function pair(app: Awaited<ReturnType<typeof build>>, sessionId: string, headers: Record<string, string> = {}) {
  return call(app, { method: 'PUT', url: '/v1/pair', payload: { sessionId }, headers })
}

t.test('pair makes a WORD-WORD-XXXXX code with a link', async (t) => {
  const app = await build(t, { MAX_CODES_PER_SESSION: '100' })
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
    t.same([res.status, res.body.error], [404, 'code_expired_or_used'], `${unknownCode}: a claim does not tell whether the code ever existed`)
    const st = await call(app, { method: 'GET', url: `/v1/pair/${unknownCode}/status` })
    t.same([st.status, st.body.error], [404, 'code_not_found'])
  }
})

t.test('of 100 concurrent claims over HTTP exactly one wins', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const { code } = (await pair(app, sessionId)).body
  const results = await Promise.all(
    // Each from an address of its own: from one address, all but the first few would be over the failure budget.
    Array.from({ length: 100 }, (_, i) => call(app, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': `racer${i}` }, remoteAddress: `10.1.${i}.1` })),
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

t.test('a failed claim answers the same whether the code never existed, was spent, expired or lost its session', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { PAIR_CODE_TTL_SECONDS: '60' }, { clock: clock.now })
  const claim = (code: string, agentId: string) => call(app, { method: 'POST', url: `/v1/pair/${code}/claim`, headers: { 'x-agent-id': agentId } })
  const { sessionId } = await twoAgents(app, { ttl: 3600 })
  const spent = (await pair(app, sessionId)).body.code
  t.equal((await claim(spent, 'first')).status, 200)
  const expired = (await pair(app, sessionId)).body.code
  const short = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { ttl: 60 } })
  const orphan = (await pair(app, short.body.sessionId)).body.code
  clock.advance(60_000)
  const answers = []
  for (const code of ['NEVER-SEEN-22222', spent, expired, orphan]) {
    const res = await claim(code, 'guesser')
    answers.push({ status: res.status, body: { error: res.body.error, message: res.body.message } })
  }
  t.equal(answers[0]!.body.error, 'code_expired_or_used')
  for (const answer of answers.slice(1)) t.same(answer, answers[0], 'indistinguishable from a code that never existed')
})

t.test('failed code lookups spend a per-address budget; over it every lookup is refused until the window passes', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { PAIR_FAILURES_MAX: '3', PAIR_FAILURES_WINDOW_SECONDS: '600' }, { clock: clock.now })
  const { sessionId } = await twoAgents(app)
  const { code } = (await pair(app, sessionId)).body
  const claim = (c: string, agentId: string, remoteAddress = '192.0.2.7') =>
    call(app, { method: 'POST', url: `/v1/pair/${c}/claim`, headers: { 'x-agent-id': agentId }, remoteAddress })
  const status = (c: string, remoteAddress = '192.0.2.7') => call(app, { method: 'GET', url: `/v1/pair/${c}/status`, remoteAddress })
  const page = (c: string, remoteAddress = '192.0.2.7') => call(app, { method: 'GET', url: `/v1/pair/${c}/skill`, remoteAddress })

  for (let i = 0; i < 5; i++) t.equal((await status(code)).body.state, 'pending', 'asking about a pending code is free')
  t.equal((await claim(code, 'guest')).body.error, 'agent_id_taken', 'a right code refused for its agent id is no failure')
  t.equal((await claim('WRONG-GUESS-22222', 'x')).status, 404, 'failure 1: a claim')
  t.equal((await status('WRONG-GUESS-33333')).status, 404, 'failure 2: a status')
  t.equal((await page('WRONG-GUESS-44444')).status, 404, 'failure 3: the page')
  for (const res of [await claim(code, 'newcomer'), await status(code), await page(code)]) {
    t.equal(res.status, 429, 'over the budget even the right code is refused')
    t.equal(res.body.error, 'rate_limit_exceeded')
    t.equal(res.headers['retry-after'], '600')
  }
  t.equal((await claim(code, 'newcomer', '192.0.2.8')).status, 200, 'another address has its own budget')
  t.equal((await status(code, '192.0.2.9')).body.state, 'claimed')
  t.equal((await status(code, '192.0.2.9')).body.state, 'claimed', 'a spent code counts as a failure to ask about')
  t.equal((await status(code, '192.0.2.9')).body.state, 'claimed')
  t.equal((await status(code, '192.0.2.9')).status, 429, 'the fourth one is over the budget')

  clock.advance(599_000)
  const late = await status('WRONG-GUESS-55555')
  t.same([late.status, late.headers['retry-after']], [429, '1'])
  clock.advance(1_000)
  t.equal((await status('WRONG-GUESS-66666')).body.error, 'code_not_found', 'a new window, a new budget')
})

t.test('an IPv6 client is counted by its /64', async (t) => {
  const app = await build(t, { PAIR_FAILURES_MAX: '2' })
  const status = (remoteAddress: string) => call(app, { method: 'GET', url: '/v1/pair/WRONG-GUESS-22222/status', remoteAddress })
  t.equal((await status('2001:db8:1:2::1')).status, 404)
  t.equal((await status('2001:db8:1:2:ffff::9')).status, 404)
  t.equal((await status('2001:db8:1:2:0:0:0:77')).status, 429, 'a third address of the same /64 is over the budget')
  t.equal((await status('2001:db8:1:3::1')).status, 404, 'the next /64 has its own')
})

t.test('a session holds at most MAX_CODES_PER_SESSION pending codes', async (t) => {
  const clock = fakeClock()
  const app = await build(t, { MAX_CODES_PER_SESSION: '2', PAIR_CODE_TTL_SECONDS: '60' }, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 3600 })
  const first = (await pair(app, sessionId)).body.code
  t.equal((await pair(app, sessionId)).status, 201)
  const refused = await pair(app, sessionId)
  t.same([refused.status, refused.body.error], [409, 'too_many_codes'])
  t.match(refused.body.message, 'at most 2 pending pairing codes')
  const other = await twoAgents(app)
  t.equal((await pair(app, other.sessionId)).status, 201, 'the cap is per session')
  await call(app, { method: 'POST', url: `/v1/pair/${first}/claim`, headers: { 'x-agent-id': 'newcomer' } })
  t.equal((await pair(app, sessionId)).status, 201, 'a claimed code makes room')
  t.equal((await pair(app, sessionId)).status, 409)
  clock.advance(60_000)
  t.equal((await pair(app, sessionId)).status, 201, 'expired codes make room')
})
