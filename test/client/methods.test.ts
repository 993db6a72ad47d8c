import t from 'tap'
import { API_ERROR_CODES, isNexusError, NexusApiError } from '../../src/client/index.js'
import { catalogue } from '../../src/core/errors.js'
import { clientOf, serve } from './server.js'

/** The error a promise rejects with; fails the test when it resolves. */
async function failure(promise: Promise<unknown>): Promise<NexusApiError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof NexusApiError) return err
    throw err
  }
  throw new Error('expected a NexusApiError')
}

t.test('every method against the server', async (t) => {
  const { baseUrl } = await serve(t)
  const alice = clientOf(t, baseUrl, { agentId: 'alice' })
  const bob = clientOf(t, baseUrl, { agentId: 'bob' })

  const health = await alice.health()
  t.equal(health.status, 'ok')
  t.ok(health.capabilities.messageFormat.includes('json'))

  const created = await alice.createSession({ ttl: 600, maxAgents: 3, greeting: 'Hi, Alice here.', creatorAgentId: 'alice' })
  t.match(created, { ttl: 600, maxAgents: 3, state: 'active', creatorAgentId: 'alice' })
  t.match(created.sessionId, /^[0-9a-f]{48}$/)
  t.equal(alice.sessionKey(created.sessionId), created.sessionKey, 'the creator key is remembered')
  const sid = created.sessionId

  const status = await bob.status(sid)
  t.same(status.agents, ['alice'])
  t.equal(status.creatorAgentId, 'alice')

  const pairing = await alice.pair(sid)
  t.match(pairing.code, /^[A-Z]+-[A-Z]+-[2-9A-Z]{5}$/)
  t.ok(pairing.url.endsWith(`/p/${pairing.code}`))
  t.equal((await bob.pairStatus(pairing.code)).state, 'pending')

  const claimed = await bob.claim(pairing.code.toLowerCase())
  t.match(claimed, { sessionId: sid, status: 'claimed', agentId: 'bob', agentsOnline: 2 })
  t.equal(bob.sessionKey(sid), claimed.sessionKey, 'the claimed key is remembered')
  t.equal((await bob.pairStatus(pairing.code)).state, 'claimed')

  const text = await bob.send(sid, { text: 'Hello Alice!' })
  t.match(text, { cursor: '1', verified: true, redactions: [] })
  t.match(text.id, /^msg_/)
  const json = await alice.send(sid, { json: { plan: ['a', 'b'], n: 1 } })
  t.match(json, { cursor: '2', verified: true })
  const both = await alice.send(sid, { text: 'and', json: null })
  t.equal(both.cursor, '3')
  const shorthand = await bob.send(sid, 'short')
  t.equal(shorthand.cursor, '4')
  const unverified = await bob.send(sid, { text: 'key given as empty' }, { sessionKey: '' })
  t.equal(unverified.verified, false, 'an empty key sends unverified')

  const everything = await alice.poll(sid)
  t.same(everything.messages.map((m) => m.cursor), ['0', '1', '2', '3', '4', '5'])
  t.match(everything.messages[0], { agentId: 'system', text: 'Hi, Alice here.', verified: true })
  t.same(everything.messages[2]?.json, { plan: ['a', 'b'], n: 1 })
  t.equal(everything.messages[3]?.json, null, 'json null survives')
  t.equal(everything.nextCursor, '5')
  t.equal(everything.hasMore, false)

  const page = await bob.poll(sid, { after: 1, limit: 2, members: true })
  t.same(page.messages.map((m) => m.cursor), ['2', '3'])
  t.equal(page.hasMore, true)
  t.same(page.members?.map((m) => m.agentId).sort(), ['alice', 'bob'])
  const held = await bob.poll(sid, { after: '5', wait: 0.05 })
  t.same(held.messages, [], 'a long-poll that runs out answers empty')
  t.equal(held.nextCursor, '5')

  const renewed = await bob.renew(sid, { ttl: 900 })
  t.match(renewed, { sessionId: sid, ttl: 900, state: 'active' })
  t.same(renewed.agents.sort(), ['alice', 'bob'])
  t.equal((await alice.renew(sid)).ttl, 900, 'renew without a ttl keeps it')

  const stats = await alice.stats()
  t.ok(stats.activeSessions >= 1)
  t.ok(stats.totalMessages >= 6)

  const left = await bob.leave(sid)
  t.match(left, { ok: true, sessionId: sid, agentId: 'bob' })
  t.equal(bob.sessionKey(sid), undefined, 'the key is forgotten after leaving')
  t.same((await alice.status(sid)).agents, ['alice'])

  const joined = await bob.join(sid)
  t.match(joined, { status: 'joined', sessionId: sid, agentId: 'bob', agentsOnline: 2 })
  t.equal(bob.sessionKey(sid), joined.sessionKey, 'the joined key is remembered')
  t.equal((await bob.send(sid, 'back')).verified, true)
})

t.test('one client, many agents: keys are kept per session and agent', async (t) => {
  const { baseUrl } = await serve(t)
  const client = clientOf(t, baseUrl)
  const { sessionId } = await client.createSession({ creatorAgentId: 'host' })
  await client.join(sessionId, 'guest')
  t.equal((await client.send(sessionId, 'as guest, the last one entered')).verified, true)
  t.equal((await client.send(sessionId, 'as host', { agentId: 'host' })).verified, true)
  const log = await client.poll(sessionId, { agentId: 'host' })
  t.same(log.messages.map((m) => m.agentId), ['guest', 'host'])
  await t.rejects(clientOf(t, baseUrl).send(sessionId, 'who?'), TypeError, 'no agent id is a TypeError')

  const other = clientOf(t, baseUrl, { agentId: 'guest' })
  other.setSessionKey(sessionId, client.sessionKey(sessionId, 'guest')!)
  t.equal((await other.send(sessionId, 'with a saved key')).verified, true)
})

t.test('errors are typed by their code', async (t) => {
  const { baseUrl } = await serve(t)
  const alice = clientOf(t, baseUrl, { agentId: 'alice' })
  const bob = clientOf(t, baseUrl, { agentId: 'bob' })
  const carol = clientOf(t, baseUrl, { agentId: 'carol' })
  const { sessionId: sid } = await alice.createSession({ creatorAgentId: 'alice', maxAgents: 2 })

  const missing = await failure(alice.status('0'.repeat(48)))
  t.match(missing, { code: 'session_not_found', status: 404, name: 'NexusApiError' })
  t.ok(missing.requestId, 'the request id is kept')
  t.ok(isNexusError(missing, 'session_not_found'))
  t.notOk(isNexusError(missing, 'forbidden'))
  t.ok(isNexusError(missing))
  t.notOk(isNexusError(new Error('x')))

  const invalid = await failure(alice.createSession({ ttl: 5 }))
  t.match(invalid, { code: 'invalid_request', status: 400 })
  t.match(invalid.details, [{ path: 'body.ttl' }])

  const reserved = await failure(clientOf(t, baseUrl, { agentId: 'system' }).join(sid))
  t.equal(reserved.code, 'invalid_request')

  await bob.join(sid)
  t.match(await failure(bob.join(sid)), { code: 'agent_id_taken', status: 409 })
  t.match(await failure(carol.join(sid)), { code: 'session_full', status: 409 })
  t.match(await failure(carol.send(sid, 'hi')), { code: 'forbidden', status: 403 })
  t.match(await failure(carol.renew(sid)), { code: 'forbidden', status: 403 })
  t.match(await failure(carol.poll(sid)), { code: 'agent_not_in_session', status: 403 })
  t.match(await failure(bob.send(sid, 'hi', { sessionKey: 'f'.repeat(64) })), { code: 'invalid_session_key', status: 403 })
  t.match(await failure(bob.send(sid, {})), { code: 'invalid_request', status: 400 })
  t.match(await failure(bob.send(sid, 'x'.repeat(70_000))), { code: 'payload_too_large', status: 413 })

  t.match(await failure(alice.leave(sid)), { code: 'forbidden', status: 403 }, 'the creator cannot leave')
  t.match(await failure(bob.leave(sid, { sessionKey: 'f'.repeat(64) })), { code: 'invalid_session_key', status: 401 })
  t.match(await failure(carol.leave(sid)), { code: 'missing_session_key', status: 401 }, 'no key remembered, none sent')
  t.match(await failure(carol.leave(sid, { sessionKey: 'f'.repeat(64) })), { code: 'agent_not_found', status: 404 })

  t.match(await failure(carol.claim('NOPE-NOPE-22222')), { code: 'code_expired_or_used', status: 404 })
  t.match(await failure(carol.pairStatus('NOPE-NOPE-22222')), { code: 'code_not_found', status: 404 })
  await bob.leave(sid)
  const { code } = await alice.pair(sid)
  await carol.claim(code)
  t.match(await failure(bob.claim(code)), { code: 'code_expired_or_used', status: 404 })
  t.match(await failure(alice.pair('0'.repeat(48))), { code: 'session_not_found' })
})

t.test('a session that is gone makes the client forget its keys', async (t) => {
  let now = Date.now()
  const { baseUrl } = await serve(t, {}, { clock: () => now })
  const alice = clientOf(t, baseUrl, { agentId: 'alice' })
  const { sessionId } = await alice.createSession({ creatorAgentId: 'alice', ttl: 60 })
  t.ok(alice.sessionKey(sessionId))
  now += 61_000
  t.match(await failure(alice.send(sessionId, 'late')), { code: 'session_not_found' })
  t.equal(alice.sessionKey(sessionId), undefined)
})

t.test('the client knows every error code of the server', async (t) => {
  const server = [...new Set(Object.values(catalogue).map((entry) => entry.code))].sort()
  t.same([...API_ERROR_CODES].sort(), server)
})
