import t from 'tap'
import { build, call, poll, send, twoAgents } from '../helpers.js'

t.test('greeting at cursor 0, messages from 1, after is exclusive', async (t) => {
  const app = await build(t)
  const { sessionId, hostKey } = await twoAgents(app, { greeting: 'Welcome, tell me what you need.' })
  const first = await poll(app, sessionId, 'guest')
  t.equal(first.status, 200)
  t.equal(first.body.messages.length, 1)
  t.match(first.body.messages[0], { cursor: '0', agentId: 'system', text: 'Welcome, tell me what you need.', verified: true, redactions: [] })
  t.match(first.body.messages[0].id, /^msg_/)
  t.equal(first.body.nextCursor, '0')
  t.equal(first.body.hasMore, false)

  const sent = await send(app, sessionId, 'host', { text: 'hello' }, hostKey)
  t.equal(sent.status, 201)
  t.match(sent.body, { cursor: '1', verified: true, redactions: [] })
  t.match(sent.body.id, /^msg_[A-Za-z0-9_-]{21}$/)
  t.ok(Date.parse(sent.body.expiresAt) > Date.now())

  const next = await poll(app, sessionId, 'guest', 'after=0')
  t.same(next.body.messages.map((m: any) => m.text), ['hello'])
  t.equal(next.body.nextCursor, '1')
  t.match(next.body.messages[0], { agentId: 'host', cursor: '1', verified: true })
  t.type(next.body.messages[0].createdAt, 'string')

  const none = await poll(app, sessionId, 'guest', 'after=1')
  t.same(none.body.messages, [])
  t.equal(none.body.nextCursor, '1', 'nothing new: nextCursor stays')
})

t.test('without a greeting the first poll is empty and nextCursor is 0', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const res = await poll(app, sessionId, 'guest')
  t.same(res.body, { messages: [], nextCursor: '0', hasMore: false })
  const sent = await send(app, sessionId, 'guest', { text: 'first' })
  t.equal(sent.body.cursor, '1')
})

t.test('after beyond the latest cursor is no error: nextCursor comes back to the latest', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  await send(app, sessionId, 'guest', { text: 'a' })
  await send(app, sessionId, 'guest', { text: 'b' })
  const res = await poll(app, sessionId, 'host', 'after=999')
  t.equal(res.status, 200)
  t.same(res.body.messages, [])
  t.equal(res.body.nextCursor, '2')
})

t.test('following nextCursor never skips nor repeats, through limit and hasMore', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app, { greeting: 'hi' })
  for (let i = 1; i <= 23; i++) await send(app, sessionId, i % 2 ? 'host' : 'guest', { text: `m${i}` })
  const seen: string[] = []
  let cursor: string | undefined
  let pages = 0
  for (;;) {
    const res = await poll(app, sessionId, 'guest', `limit=5${cursor !== undefined ? `&after=${cursor}` : ''}`)
    pages++
    seen.push(...res.body.messages.map((m: any) => m.cursor))
    cursor = res.body.nextCursor
    if (!res.body.hasMore) break
  }
  t.same(seen, Array.from({ length: 24 }, (_, i) => String(i)))
  t.equal(pages, 5)
  // Interleave sends and polls: still no loss, no repeat.
  for (let i = 0; i < 10; i++) {
    await send(app, sessionId, 'host', { text: `late${i}` })
    const res = await poll(app, sessionId, 'guest', `after=${cursor}`)
    seen.push(...res.body.messages.map((m: any) => m.cursor))
    cursor = res.body.nextCursor
  }
  t.same(seen, Array.from({ length: 34 }, (_, i) => String(i)))
})

t.test('limit bounds and validation', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5', 'after=-1', 'after=abc', 'after=1e3', 'after=99999999999999999', 'members=maybe']) {
    const res = await poll(app, sessionId, 'guest', query)
    t.equal(res.status, 400, query)
    t.equal(res.body.error, 'invalid_request', query)
  }
  t.equal((await poll(app, sessionId, 'guest', 'limit=1000')).status, 200)
})

t.test('members=true lists members with their times', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const res = await poll(app, sessionId, 'guest', 'members=true')
  t.same(res.body.members.map((m: any) => m.agentId).sort(), ['guest', 'host'])
  for (const m of res.body.members) {
    t.ok(Date.parse(m.joinedAt) > 0)
    t.ok(Date.parse(m.lastSeenAt) >= Date.parse(m.joinedAt))
  }
  t.notOk('members' in (await poll(app, sessionId, 'guest')).body)
})

t.test('gap: dropped messages are reported, not silently missing', async (t) => {
  const app = await build(t, { MAX_MESSAGES_PER_SESSION: '5' })
  const { sessionId } = await twoAgents(app, { greeting: 'hi' })
  for (let i = 1; i <= 8; i++) await send(app, sessionId, 'host', { text: `m${i}` })
  const fromStart = await poll(app, sessionId, 'guest')
  t.same(fromStart.body.messages.map((m: any) => m.cursor), ['4', '5', '6', '7', '8'])
  t.equal(fromStart.body.gap, true)
  t.equal(fromStart.body.oldestCursor, '4')
  const old = await poll(app, sessionId, 'guest', 'after=1')
  t.equal(old.body.gap, true)
  const fine = await poll(app, sessionId, 'guest', 'after=3')
  t.notOk('gap' in fine.body, 'nothing missed after 3')
  t.same(fine.body.messages.map((m: any) => m.cursor), ['4', '5', '6', '7', '8'])
})

t.test('verified, unverified and refused keys', async (t) => {
  const app = await build(t)
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  t.equal((await send(app, sessionId, 'guest', { text: 'signed' }, guestKey)).body.verified, true)
  t.equal((await send(app, sessionId, 'guest', { text: 'unsigned' })).body.verified, false)
  const wrong = await send(app, sessionId, 'guest', { text: 'with host key' }, hostKey)
  t.same([wrong.status, wrong.body.error], [403, 'invalid_session_key'])
  const garbage = await send(app, sessionId, 'guest', { text: 'garbage key' }, 'not-a-key')
  t.same([garbage.status, garbage.body.error], [403, 'invalid_session_key'])
  const page = await poll(app, sessionId, 'host')
  t.same(page.body.messages.map((m: any) => [m.text, m.verified]), [['signed', true], ['unsigned', false]])
})

t.test('send errors: non-member, unknown session, missing agent, empty message', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const stranger = await send(app, sessionId, 'stranger', { text: 'hi' })
  t.same([stranger.status, stranger.body.error], [403, 'forbidden'])
  const unknown = await send(app, 'd'.repeat(48), 'guest', { text: 'hi' })
  t.same([unknown.status, unknown.body.error], [404, 'session_not_found'])
  const anon = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/messages`, payload: { text: 'hi' } })
  t.same([anon.status, anon.body.error], [400, 'missing_agent_id'])
  for (const payload of [{}, { text: '' }, { text: 5 }, { text: null }, [], '"text"', { json: undefined }]) {
    const res = await send(app, sessionId, 'guest', payload)
    t.same([res.status, res.body.error], [400, 'invalid_request'], JSON.stringify(payload))
  }
  const pollStranger = await poll(app, sessionId, 'stranger')
  t.same([pollStranger.status, pollStranger.body.error], [403, 'agent_not_in_session'])
})

t.test('json messages: any JSON value, alone or with text', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const values = [{ task: 'review', files: ['a.ts', 'b.ts'], depth: { n: 1 } }, [1, 2, 3], 'a string', 42, true, null]
  for (const json of values) t.equal((await send(app, sessionId, 'host', { json })).status, 201, JSON.stringify(json))
  await send(app, sessionId, 'host', { text: 'both', json: { ok: true } })
  const page = await poll(app, sessionId, 'guest')
  t.same(page.body.messages.map((m: any) => m.json), [...values, { ok: true }])
  t.equal(page.body.messages.at(-1).text, 'both')
  t.notOk('text' in page.body.messages[0], 'no text key when none was sent')
})

t.test('text is kept exactly: unicode, newlines, quotes, emoji, RTL', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const texts = ['line1\nline2\ttab', 'quotes " \' ` $(rm -rf /) \\ backslash', '🙂👍🏽 family 👨‍👩‍👧', 'مرحبا بالعالم', '日本語のテキスト', '\u0000nul and \u001b escape', '--leading-dash']
  for (const text of texts) await send(app, sessionId, 'host', { text })
  const page = await poll(app, sessionId, 'guest')
  t.same(page.body.messages.map((m: any) => m.text), texts)
})

t.test('size limits: message over MAX_MESSAGE_BYTES and huge bodies are 413', async (t) => {
  const app = await build(t, { MAX_MESSAGE_BYTES: '1000' })
  const { sessionId } = await twoAgents(app)
  t.equal((await send(app, sessionId, 'host', { text: 'x'.repeat(1000) })).status, 201)
  const over = await send(app, sessionId, 'host', { text: 'x'.repeat(1001) })
  t.same([over.status, over.body.error], [413, 'payload_too_large'])
  const multibyte = await send(app, sessionId, 'host', { text: 'é'.repeat(501) })
  t.equal(multibyte.status, 413, 'bytes, not characters, are counted')
  const jsonOver = await send(app, sessionId, 'host', { text: 'x'.repeat(600), json: { pad: 'y'.repeat(600) } })
  t.equal(jsonOver.status, 413, 'text and json count together')
  const huge = await send(app, sessionId, 'host', { text: 'x'.repeat(200_000) })
  t.same([huge.status, huge.body.error], [413, 'payload_too_large'])
  t.equal((await poll(app, sessionId, 'guest')).body.messages.length, 1, 'nothing refused was stored')
})

t.test('a body is read as JSON whatever type it declares, with the same limits', async (t) => {
  const app = await build(t, { MAX_MESSAGE_BYTES: '1000' })
  const { sessionId } = await twoAgents(app)
  // application/json has a parser of its own (fastify caches it); every other type falls to the catch-all.
  const types = ['application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'application/octet-stream']
  const url = `/v1/sessions/${sessionId}/messages`
  for (const type of types) {
    const sent = await call(app, { method: 'POST', url, headers: { 'content-type': type, 'x-agent-id': 'guest' }, payload: JSON.stringify({ text: type }) })
    t.equal(sent.status, 201, type)
    const proto = await call(app, { method: 'POST', url, headers: { 'content-type': type, 'x-agent-id': 'guest' }, payload: '{"__proto__":{"x":1},"text":"no"}' })
    t.same([proto.status, proto.body.error], [400, 'invalid_body'], `${type}: __proto__ refused`)
    const huge = await call(app, { method: 'POST', url, headers: { 'content-type': type, 'x-agent-id': 'guest' }, payload: JSON.stringify({ text: 'x'.repeat(200_000) }) })
    t.same([huge.status, huge.body.error], [413, 'payload_too_large'], `${type}: body limit`)
  }
  const page = await poll(app, sessionId, 'host')
  t.same(page.body.messages.map((m: any) => m.text), types, 'each accepted once, in order')
})

t.test('sending slides expiry; polling sets lastSeenAt but does not slide', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app, { ttl: 600 })
  const sent = await send(app, sessionId, 'guest', { text: 'x' })
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  t.equal(status.body.expiresAt, sent.body.expiresAt)
})
