import type { AddressInfo } from 'node:net'
import t from 'tap'
import { build, call, poll, send, twoAgents } from '../helpers.js'

const keyed = (app: Awaited<ReturnType<typeof build>>, sessionId: string, agentId: string, key: string | undefined, query = '') =>
  call(app, {
    method: 'GET',
    url: `/v1/sessions/${sessionId}/messages${query ? `?${query}` : ''}`,
    headers: { 'x-agent-id': agentId, ...(key !== undefined ? { 'x-session-key': key } : {}) },
  })

const renew = (app: Awaited<ReturnType<typeof build>>, sessionId: string, agentId: string, key: string | undefined, payload?: object) =>
  call(app, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/renew`,
    headers: { 'x-agent-id': agentId, ...(key !== undefined ? { 'x-session-key': key } : {}) },
    ...(payload ? { payload } : {}),
  })

t.test('off by default: poll and renew need no key, and a wrong one is not checked', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  t.equal((await poll(app, sessionId, 'guest')).status, 200)
  t.equal((await keyed(app, sessionId, 'guest', 'f'.repeat(64))).status, 200)
  t.equal((await renew(app, sessionId, 'guest', undefined)).status, 200)
})

t.test('REQUIRE_KEY_FOR_READS: poll and renew need the reader\'s own key', async (t) => {
  const app = await build(t, { REQUIRE_KEY_FOR_READS: 'true' })
  const { sessionId, guestKey, hostKey } = await twoAgents(app)
  await send(app, sessionId, 'host', { text: 'hello' }, hostKey)

  const none = await poll(app, sessionId, 'guest')
  t.same([none.status, none.body.error], [401, 'missing_session_key'])
  t.match(none.body.message, 'X-Session-Key')
  const wrong = await keyed(app, sessionId, 'guest', hostKey)
  t.same([wrong.status, wrong.body.error], [401, 'invalid_session_key'], 'another member\'s key is not the reader\'s')
  const right = await keyed(app, sessionId, 'guest', guestKey, 'members=true')
  t.equal(right.status, 200)
  t.same(right.body.messages.map((m: { text: string }) => m.text), ['hello'])
  const stranger = await keyed(app, sessionId, 'stranger', guestKey)
  t.same([stranger.status, stranger.body.error], [403, 'agent_not_in_session'], 'membership is still checked first')

  t.same([(await renew(app, sessionId, 'guest', undefined)).body.error], ['missing_session_key'])
  const badRenew = await renew(app, sessionId, 'guest', 'f'.repeat(64), { ttl: 120 })
  t.same([badRenew.status, badRenew.body.error], [401, 'invalid_session_key'])
  t.equal((await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })).body.ttl, 3660, 'a refused renew changed nothing')
  const renewed = await renew(app, sessionId, 'guest', guestKey, { ttl: 120 })
  t.same([renewed.status, renewed.body.ttl], [200, 120])

  const sent = await send(app, sessionId, 'guest', { text: 'still fine' })
  t.equal(sent.status, 201, 'sending keeps its own rule (no key: unverified)')
})

t.test('REQUIRE_KEY_FOR_READS: a long-poll shows the key for its whole wait', async (t) => {
  const app = await build(t, { REQUIRE_KEY_FOR_READS: '1' })
  const { sessionId, guestKey, hostKey } = await twoAgents(app)
  const refused = await keyed(app, sessionId, 'guest', undefined, 'after=0&wait=5')
  t.same([refused.status, refused.body.error], [401, 'missing_session_key'], 'refused at once, not after the wait')
  const wrong = await keyed(app, sessionId, 'guest', hostKey, 'after=0&wait=5')
  t.same([wrong.status, wrong.body.error], [401, 'invalid_session_key'])
  const waiting = keyed(app, sessionId, 'guest', guestKey, 'after=0&wait=5')
  // Whether the send lands before the wait begins or during it, the poll answers with it.
  await send(app, sessionId, 'host', { text: 'wake up' }, hostKey)
  const woke = await waiting
  t.equal(woke.status, 200)
  t.same(woke.body.messages.map((m: { text: string }) => m.text), ['wake up'])
})

t.test('REQUIRE_KEY_FOR_READS: the event stream takes the key in a header, never in the URL', async (t) => {
  const app = await build(t, { REQUIRE_KEY_FOR_READS: 'true' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const { sessionId, guestKey, hostKey } = await twoAgents(app)
  await send(app, sessionId, 'host', { text: 'streamed' }, hostKey)
  const url = `${base}/v1/sessions/${sessionId}/events?agentId=guest`

  const none = await fetch(url)
  t.same([none.status, ((await none.json()) as { error: string }).error], [401, 'missing_session_key'])
  const inQuery = await fetch(`${url}&sessionKey=${guestKey}`)
  t.same([inQuery.status, ((await inQuery.json()) as { error: string }).error], [401, 'missing_session_key'], 'a key in the query is not taken')
  const wrong = await fetch(url, { headers: { 'x-session-key': hostKey } })
  t.same([wrong.status, ((await wrong.json()) as { error: string }).error], [401, 'invalid_session_key'])

  const controller = new AbortController()
  const stream = await fetch(url, { headers: { 'x-session-key': guestKey }, signal: controller.signal })
  t.equal(stream.status, 200)
  const reader = stream.body!.getReader()
  let text = ''
  while (!text.includes('streamed')) text += new TextDecoder().decode((await reader.read()).value)
  t.match(text, /id: 1\n/)
  controller.abort()
  await reader.cancel().catch(() => {})
})

t.test('REQUIRE_KEY_FOR_READS=yes is refused at start', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js')
  t.throws(() => loadConfig({ REQUIRE_KEY_FOR_READS: 'yes' }), ConfigError)
  t.equal(loadConfig({}).requireKeyForReads, false)
  t.equal(loadConfig({ REQUIRE_KEY_FOR_READS: 'false' }).requireKeyForReads, false)
})
