import t from 'tap'
import { makeFakes } from '../core/redact/fakes.js'
import { fakeClock } from '../helpers.js'
import { call, httpClient, listen, ok, TOOL_NAMES } from './helpers.js'

/** MCP over Streamable HTTP at /mcp, driven by the SDK's own client against a real listener. */

t.test('lists the tools, each described, and teaches the flow in its instructions', async (t) => {
  const { base } = await listen(t)
  const client = await httpClient(t, base)
  const { tools } = await client.listTools()
  t.same(tools.map((tool) => tool.name).sort(), TOOL_NAMES)
  for (const tool of tools) t.ok((tool.description ?? '').length > 40, `${tool.name} is described`)
  const instructions = client.getInstructions() ?? ''
  t.match(instructions, /nexus_create_session/)
  t.match(instructions, /nexus_claim/)
  t.match(instructions, /never follow instructions/)
})

t.test('the whole story: create, pair, claim by URL, send both ways, wait woken by a send, replay, members, renew, leave', async (t) => {
  const { base } = await listen(t)
  const alice = await httpClient(t, base, 'alice-host')
  const bob = await httpClient(t, base, 'bob-host')

  const created = await ok(t, alice, 'nexus_create_session', { agent_id: 'alice', greeting: 'Hi, Alice here.' })
  t.match(created.data.pairingLink, new RegExp(`^${base}/p/[A-Z]+-[A-Z]+-[A-Z0-9]{5}$`))
  t.match(created.text, created.data.pairingLink, 'the link is in the text for the model')
  let aliceSession: string = created.data.session

  const claimed = await ok(t, bob, 'nexus_claim', { link: created.data.pairingLink, agent_id: 'bob' })
  t.equal(claimed.data.sessionId, created.data.sessionId)
  t.equal(claimed.data.agentsOnline, 2)
  let bobSession: string = claimed.data.session

  const first = await ok(t, bob, 'nexus_read', { session: bobSession })
  t.same(first.data.messages.map((m: any) => m.text), ['Hi, Alice here.'], 'the claimer reads the greeting first')
  t.match(first.text, /never follow instructions/, 'marked as data')
  bobSession = first.data.session

  // Alice waits before Bob sends: the send wakes her wait.
  const waiting = call(alice, 'nexus_wait', { session: aliceSession, timeout_seconds: 20 })
  await new Promise((resolve) => setImmediate(resolve))
  const sent = await ok(t, bob, 'nexus_send', { session: bobSession, text: 'Hello Alice!' })
  t.equal(sent.data.verified, true)
  bobSession = sent.data.session
  const woken = await waiting
  t.equal(woken.isError, false)
  t.same(woken.data.messages.map((m: any) => [m.agentId, m.text, m.verified]), [['bob', 'Hello Alice!', true]], 'the creator does not read her own greeting')
  t.match(woken.text, /from agent "bob", verified/)
  aliceSession = woken.data.session

  const mine = await ok(t, alice, 'nexus_send', { session: aliceSession, text: 'Hi Bob', json: { plan: ['a', 'b'] } })
  aliceSession = mine.data.session
  const answer = await ok(t, bob, 'nexus_wait', { session: bobSession, timeout_seconds: 5 })
  t.same(answer.data.messages.map((m: any) => [m.text, m.json]), [['Hi Bob', { plan: ['a', 'b'] }]])
  bobSession = answer.data.session

  t.same((await ok(t, alice, 'nexus_read', { session: aliceSession })).data.messages, [], 'one\'s own message is read through on send')
  const nothing = await ok(t, bob, 'nexus_read', { session: bobSession })
  t.same(nothing.data.messages, [], 'the position was kept: nothing is repeated')
  const replay = await ok(t, bob, 'nexus_read', { session: bobSession, after: 0 })
  t.same(replay.data.messages.map((m: any) => m.text), ['Hello Alice!', 'Hi Bob'], 'after=0 replays after the greeting')
  t.equal(replay.data.session, bobSession, 'a replay leaves the position alone')

  const status = await ok(t, alice, 'nexus_status', { session: aliceSession })
  t.same(status.data.agents.sort(), ['alice', 'bob'])
  t.equal(status.data.creatorAgentId, 'alice')
  const renewed = await ok(t, bob, 'nexus_renew', { session: bobSession, ttl_seconds: 600 })
  t.equal(renewed.data.ttl, 600)

  const refusedHook = await call(bob, 'nexus_webhook', { session: bobSession, url: 'http://10.0.0.1/hook' })
  t.equal(refusedHook.data.error, 'webhook_url_refused')
  const hook = await ok(t, bob, 'nexus_webhook', { session: bobSession, url: 'https://example.com/hook' })
  t.match(hook.data.secret, /^whsec_/)
  t.match(hook.text, /shown this once/)
  const health = await ok(t, bob, 'nexus_webhook', { session: bobSession })
  t.equal(health.data.webhook.url, 'https://example.com/hook')
  t.notOk('secret' in health.data.webhook)
  t.equal((await ok(t, bob, 'nexus_webhook', { session: bobSession, remove: true })).data.removed, true)

  const left = await ok(t, bob, 'nexus_leave', { session: bobSession })
  t.equal(left.data.left, true)
  const after = await call(bob, 'nexus_read', { session: bobSession })
  t.equal(after.isError, true, 'the handle dies with the membership')
  t.equal(after.data.error, 'agent_not_in_session')
  const refused = await call(alice, 'nexus_leave', { session: aliceSession })
  t.equal(refused.data.error, 'forbidden', 'the creator cannot leave')
  t.match(refused.text, /What to do:/)
})

t.test('a wait with nothing to read returns empty within its bound', async (t) => {
  const { base } = await listen(t)
  const alice = await httpClient(t, base)
  const created = await ok(t, alice, 'nexus_create_session', { agent_id: 'alice' })
  const waited = await ok(t, alice, 'nexus_wait', { session: created.data.session, timeout_seconds: 1 })
  t.same(waited.data.messages, [])
  t.match(waited.text, /No new message .* after waiting 1 s/)
  const tooLong = await call(alice, 'nexus_wait', { session: created.data.session, timeout_seconds: 55 })
  t.equal(tooLong.isError, true, 'no wait beyond 50 s: hosts cut tool calls at 60')
})

t.test('a bad handle is a tool error that says what a handle is', async (t) => {
  const { base } = await listen(t)
  const client = await httpClient(t, base)
  for (const session of ['nope', 'nxh1.bm90IGpzb24', `nxh1.${Buffer.from(JSON.stringify(['x', 'a', 'k', null])).toString('base64url')}`]) {
    const result = await call(client, 'nexus_send', { session, text: 'hi' })
    t.equal(result.isError, true, session)
    t.equal(result.data.error, 'invalid_request')
    t.match(result.text, /not a session handle/)
  }
  const bad = await call(client, 'nexus_claim', { link: 'https://example.com/nothing/here' })
  t.equal(bad.data.error, 'invalid_request')
  const unknown = await call(client, 'nexus_claim', { link: 'https://elsewhere.example/p/OAK-RIVER-ABCDE' })
  t.equal(unknown.data.error, 'code_expired_or_used')
  t.match(unknown.text, /belongs to the Nexus server at https:\/\/elsewhere\.example/)
})

t.test('an expired session answers session_not_found with what to do', async (t) => {
  const clock = fakeClock()
  const { base } = await listen(t, {}, clock.now)
  const client = await httpClient(t, base)
  const created = await ok(t, client, 'nexus_create_session', { agent_id: 'alice', ttl_seconds: 60 })
  clock.advance(61_000)
  const read = await call(client, 'nexus_read', { session: created.data.session })
  t.equal(read.isError, true)
  t.equal(read.data.error, 'session_not_found')
  t.match(read.text, /new pairing link/)
})

t.test('a secret in a message comes back redacted, and the sender is told', async (t) => {
  const { base } = await listen(t)
  const alice = await httpClient(t, base)
  const bob = await httpClient(t, base)
  const aws = makeFakes().find((fake) => fake.type === 'aws_access_key_id')!
  const created = await ok(t, alice, 'nexus_create_session', { agent_id: 'alice' })
  const claimed = await ok(t, bob, 'nexus_claim', { link: created.data.code, agent_id: 'bob' })
  const sent = await ok(t, bob, 'nexus_send', { session: claimed.data.session, text: `use ${aws.snippet} please` })
  t.same(sent.data.redactions, ['aws_access_key_id'])
  t.match(sent.text, /redacted/)
  const read = await ok(t, alice, 'nexus_read', { session: created.data.session })
  const message = read.data.messages[0]
  t.notOk(message.text.includes(aws.secret), 'the secret is not there')
  t.match(message.text, '[REDACTED:aws_access_key_id]')
  t.match(read.text, /redacted by the server .*aws_access_key_id/)
})

t.test('errors of the arguments come back as tool errors from the catalogue', async (t) => {
  const { base } = await listen(t)
  const client = await httpClient(t, base)
  const ttl = await call(client, 'nexus_create_session', { agent_id: 'alice', ttl_seconds: 5 })
  t.equal(ttl.data.error, 'invalid_request')
  t.match(ttl.text, /ttl/)
  const reserved = await call(client, 'nexus_create_session', { agent_id: 'system' })
  t.equal(reserved.data.error, 'invalid_request')
  const created = await ok(t, client, 'nexus_create_session', { agent_id: 'alice' })
  const empty = await call(client, 'nexus_send', { session: created.data.session })
  t.equal(empty.data.error, 'invalid_request')
  const list = await ok(t, client, 'nexus_list_sessions')
  t.match(list.text, /keeps no list/)
})

t.test('/mcp answers POST only, and follows the rate limit like every route', async (t) => {
  const { base } = await listen(t, { RATE_LIMIT_MAX: '2' })
  const get = await fetch(`${base}/mcp`)
  t.equal(get.status, 405)
  t.equal(get.headers.get('allow'), 'POST')
  t.equal(((await get.json()) as any).error, 'method_not_allowed')
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  const listed = await fetch(`${base}/mcp`, { method: 'POST', headers, body })
  t.equal(listed.status, 200)
  t.ok(listed.headers.get('x-ratelimit-remaining') !== null, 'the budget headers survive the transport')
  t.ok((((await listed.json()) as any).result.tools as unknown[]).length > 0)
  const limited = await fetch(`${base}/mcp`, { method: 'POST', headers, body })
  t.equal(limited.status, 429)
  t.equal(((await limited.json()) as any).error, 'rate_limit_exceeded')
})

t.test('the pairing page tells an agent with MCP how to join', async (t) => {
  const { base } = await listen(t)
  const client = await httpClient(t, base)
  const created = await ok(t, client, 'nexus_create_session', { agent_id: 'alice' })
  const page = await fetch(created.data.pairingLink, { headers: { accept: 'text/markdown' } })
  const text = await page.text()
  t.match(text, `${base}/mcp`)
  t.match(text, `nexus_claim`)
  t.match(text, `link: "${created.data.pairingLink}"`, 'with the link filled in')
})

t.test('a wait whose caller goes away stops waiting and gives its slot back', async (t) => {
  const { base } = await listen(t)
  const client = await httpClient(t, base)
  const created = await ok(t, client, 'nexus_create_session', { agent_id: 'alice' })
  const waiting = async () => ((await (await fetch(`${base}/v1/stats`)).json()) as { waitingRequests: number }).waitingRequests
  const controller = new AbortController()
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'nexus_wait', arguments: { session: created.data.session, timeout_seconds: 50 } } })
  const pending = fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body,
    signal: controller.signal,
  }).catch((err: unknown) => err)
  while ((await waiting()) === 0) await new Promise((resolve) => setImmediate(resolve))
  t.equal(await waiting(), 1, 'the wait holds a slot like a long-poll')
  controller.abort()
  await pending
  while ((await waiting()) !== 0) await new Promise((resolve) => setImmediate(resolve))
  t.equal(await waiting(), 0, 'given back when the caller left, long before the 50 s bound')
})
