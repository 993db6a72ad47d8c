import t from 'tap'
import { build, call, poll, send, twoAgents } from '../helpers.js'

/** `[[[...]]]` nested `depth` levels. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
const sendRaw = (app: Awaited<ReturnType<typeof build>>, sessionId: string, body: string) =>
  call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/messages`, headers: { 'x-agent-id': 'host', 'content-type': 'application/json' }, payload: body })

t.test('json nested past 32 levels is 400 invalid_request naming the limit, however deep', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  t.equal((await sendRaw(app, sessionId, `{"json":${nested(32)}}`)).status, 201, '32 levels are fine')
  for (const depth of [33, 1000, 3000, 100_000]) {
    const refused = await sendRaw(app, sessionId, `{"json":${nested(depth)}}`)
    t.equal(refused.status, 400, `${depth} levels`)
    t.equal(refused.body.error, 'invalid_request')
    t.match(refused.body.message, /at most 32 levels/)
  }
  // The message of 32 levels, and every poll after the refusals, reads back whole.
  const page = await poll(app, sessionId, 'guest')
  t.equal(page.status, 200)
  t.equal(page.body.messages.length, 1)
  t.equal(JSON.stringify(page.body.messages[0].json), nested(32))
})

t.test('json of more than 10,000 values is 400 invalid_request naming the limit', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  t.equal((await send(app, sessionId, 'host', { json: Array(9_999).fill(0) })).status, 201, '10,000 values (the array and its items)')
  const refused = await send(app, sessionId, 'host', { json: Array(10_000).fill([]) })
  t.equal(refused.status, 400)
  t.equal(refused.body.error, 'invalid_request')
  t.match(refused.body.message, /at most 10000 values/)
  const wide = await send(app, sessionId, 'host', { json: Array(20_000).fill(0) })
  t.equal(wide.status, 400, 'a body far past the bound is refused by the parser')
  t.match(wide.body.message, /at most 10000 values/)
})

t.test('MAX_MESSAGE_BYTES counts text as JSON writes it: control characters count six bytes', async (t) => {
  const app = await build(t, { MAX_MESSAGE_BYTES: '1024' })
  const { sessionId } = await twoAgents(app)
  t.equal((await send(app, sessionId, 'host', { text: 'x'.repeat(1024) })).status, 201, '1,024 plain characters fit')
  const escaped = await send(app, sessionId, 'host', { text: '\u0001'.repeat(200) })
  t.equal(escaped.status, 413, '200 control characters are 1,200 bytes on the wire')
  t.equal(escaped.body.error, 'payload_too_large')
  t.equal((await send(app, sessionId, 'host', { text: '\u0001'.repeat(170) })).status, 201, '170 of them are 1,020')
  t.equal((await send(app, sessionId, 'host', { json: { s: '\u0001'.repeat(200) } })).status, 413, 'inside json too')
})

t.test('a poll stops at MAX_PAGE_BYTES with hasMore, and always returns at least one message', async (t) => {
  const app = await build(t, { MAX_PAGE_BYTES: '4096', MAX_MESSAGE_BYTES: '8192', MAX_SESSION_BYTES: '1048576' })
  const { sessionId } = await twoAgents(app)
  for (let i = 0; i < 10; i++) t.equal((await send(app, sessionId, 'host', { text: `${i}`.repeat(1000) })).status, 201)
  const first = await poll(app, sessionId, 'guest')
  t.same(first.body.messages.map((m: { cursor: string }) => m.cursor), ['1', '2', '3', '4'])
  t.equal(first.body.hasMore, true)
  t.equal(first.body.nextCursor, '4')
  t.ok(first.text.length < 4096 + 2048, `the reply (${first.text.length} bytes) is near the budget`)
  let cursor = first.body.nextCursor
  const seen = [...first.body.messages]
  for (let hops = 0; hops < 10; hops++) {
    const page = await poll(app, sessionId, 'guest', `after=${cursor}`)
    seen.push(...page.body.messages)
    cursor = page.body.nextCursor
    if (!page.body.hasMore) break
  }
  t.equal(seen.length, 10, 'following nextCursor reads every message once')
  t.equal((await send(app, sessionId, 'host', { text: 'y'.repeat(8000) })).status, 201)
  const big = await poll(app, sessionId, 'guest', `after=${cursor}`)
  t.equal(big.body.messages.length, 1, 'a message larger than the budget comes alone')
  t.equal(big.body.hasMore, false)
})

t.test('a session over MAX_SESSION_BYTES drops its oldest messages and says so with gap', async (t) => {
  const app = await build(t, { MAX_MESSAGE_BYTES: '1024', MAX_SESSION_BYTES: '3000' })
  const { sessionId } = await twoAgents(app)
  for (let i = 1; i <= 5; i++) t.equal((await send(app, sessionId, 'host', { text: `${i}`.repeat(1000) })).status, 201)
  const page = await poll(app, sessionId, 'guest', 'after=0')
  t.same(page.body.messages.map((m: { cursor: string }) => m.cursor), ['3', '4', '5'])
  t.equal(page.body.gap, true)
  t.equal(page.body.oldestCursor, '3')
})

t.test('a store over MAX_STORE_BYTES refuses sends with 503 capacity_exceeded and Retry-After', async (t) => {
  const app = await build(t, { MAX_MESSAGE_BYTES: '1024', MAX_SESSION_BYTES: '2048', MAX_STORE_BYTES: '2048' })
  const one = await twoAgents(app)
  const two = await twoAgents(app)
  t.equal((await send(app, one.sessionId, 'host', { text: 'a'.repeat(1000) })).status, 201)
  t.equal((await send(app, two.sessionId, 'host', { text: 'b'.repeat(1000) })).status, 201)
  const refused = await send(app, two.sessionId, 'host', { text: 'c'.repeat(1000) })
  t.equal(refused.status, 503)
  t.equal(refused.body.error, 'capacity_exceeded')
  t.match(refused.body.message, /2048 bytes/)
  t.ok(Number(refused.headers['retry-after']) > 0)
  t.equal((await poll(app, two.sessionId, 'guest')).body.messages.length, 1, 'nothing of the refused message was kept')
})
