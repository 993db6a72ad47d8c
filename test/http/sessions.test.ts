import t from 'tap'
import { makeFakes } from '../core/redact/fakes.js'
import { build, call, twoAgents } from '../helpers.js'

t.test('create with defaults', async (t) => {
  const app = await build(t)
  const res = await call(app, { method: 'PUT', url: '/v1/sessions' })
  t.equal(res.status, 201)
  t.match(res.body, { ttl: 3660, maxAgents: 50, state: 'active' })
  t.match(res.body.sessionId, /^[0-9a-f]{48}$/)
  t.notOk('sessionKey' in res.body, 'no key without a creator')
  t.ok(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt) === 3660_000)
  t.match(res.headers['content-type'], /application\/json; charset=utf-8/)
})

t.test('the defaults stay within the configured limits', async (t) => {
  const app = await build(t, { MAX_TTL_SECONDS: '600', MAX_AGENTS: '5' })
  const res = await call(app, { method: 'PUT', url: '/v1/sessions' })
  t.match(res.body, { ttl: 600, maxAgents: 5 })
})

t.test('create with a creator joins it and hands out its key', async (t) => {
  const app = await build(t)
  const res = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'alice', ttl: 120, maxAgents: 3 } })
  t.equal(res.status, 201)
  t.match(res.body, { creatorAgentId: 'alice', ttl: 120, maxAgents: 3 })
  t.match(res.body.sessionKey, /^[0-9a-f]{64}$/)
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${res.body.sessionId}` })
  t.equal(status.status, 200)
  t.same(status.body.agents, ['alice'])
  t.match(status.body, { agentCount: 1, creatorAgentId: 'alice', state: 'active', ttl: 120, maxAgents: 3 })
})

t.test('create refuses out-of-range and ill-typed values, never clamps', async (t) => {
  const app = await build(t, { MAX_TTL_SECONDS: '7200', MAX_AGENTS: '10' })
  for (const payload of [
    { ttl: 59 }, { ttl: 7201 }, { ttl: 100.5 }, { ttl: '120' }, { maxAgents: 1 }, { maxAgents: 11 },
    { greeting: '' }, { greeting: 5 }, { creatorAgentId: 'bad id' }, { creatorAgentId: 'system' }, { creatorAgentId: '' },
  ]) {
    const res = await call(app, { method: 'PUT', url: '/v1/sessions', payload })
    t.equal(res.status, 400, JSON.stringify(payload))
    t.equal(res.body.error, 'invalid_request', JSON.stringify(payload))
  }
  const ok = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { ttl: 7200, maxAgents: 10 } })
  t.equal(ok.status, 201)
  const details = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { ttl: 10 } })
  t.same(details.body.details?.[0]?.path, 'body.ttl')
})

t.test('status of an unknown or malformed session is 404', async (t) => {
  const app = await build(t)
  for (const id of ['0'.repeat(48), 'nope', 'ABC'.repeat(16)]) {
    const res = await call(app, { method: 'GET', url: `/v1/sessions/${id}` })
    t.equal(res.status, 404)
    t.equal(res.body.error, 'session_not_found')
  }
})

t.test('join: key, agentsOnline, and its errors', async (t) => {
  const app = await build(t)
  const { sessionId, joined } = await twoAgents(app, { maxAgents: 3 })
  t.equal(joined.status, 200)
  t.match(joined.body, { status: 'joined', sessionId, agentId: 'guest', agentsOnline: 2 })
  t.match(joined.body.sessionKey, /^[0-9a-f]{64}$/)

  const again = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' } })
  t.equal(again.status, 409)
  t.equal(again.body.error, 'agent_id_taken')
  t.notOk(again.body.sessionKey, 'no new key for a taken id')

  const third = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'third', 'content-type': 'application/json' }, payload: '{}' })
  t.equal(third.status, 200, 'an empty JSON object body is fine')
  const full = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'fourth' } })
  t.equal(full.status, 409)
  t.equal(full.body.error, 'session_full')

  const missing = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join` })
  t.equal(missing.status, 400)
  t.equal(missing.body.error, 'missing_agent_id')
  for (const bad of ['system', 'has space', 'x'.repeat(129), 'a.b', 'semi;colon']) {
    const res = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': bad } })
    t.equal(res.status, 400, bad)
    t.equal(res.body.error, 'invalid_request', bad)
  }
  const unknown = await call(app, { method: 'POST', url: `/v1/sessions/${'a'.repeat(48)}/join`, headers: { 'x-agent-id': 'x' } })
  t.equal(unknown.body.error, 'session_not_found')
})

t.test('renew: members only, empty body or {} or {ttl}', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const empty = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'guest' } })
  t.equal(empty.status, 200)
  t.match(empty.body, { sessionId, state: 'active', ttl: 3660 })
  t.same([...empty.body.agents].sort(), ['guest', 'host'])
  const emptyJson = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'guest', 'content-type': 'application/json' }, payload: '' })
  t.equal(emptyJson.status, 200, 'an empty body with a JSON content type is accepted')
  const withTtl = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'host' }, payload: { ttl: 600 } })
  t.equal(withTtl.body.ttl, 600)
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  t.equal(status.body.ttl, 600, 'the new ttl replaces the old')
  const stranger = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'stranger' }, payload: {} })
  t.equal(stranger.status, 403)
  t.equal(stranger.body.error, 'forbidden')
  const badTtl = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'host' }, payload: { ttl: 5 } })
  t.equal(badTtl.body.error, 'invalid_request')
  const gone = await call(app, { method: 'POST', url: `/v1/sessions/${'b'.repeat(48)}/renew`, headers: { 'x-agent-id': 'host' }, payload: {} })
  t.equal(gone.body.error, 'session_not_found')
})

t.test('leave: every rule', async (t) => {
  const app = await build(t)
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  const leave = (agentId: string, headers: Record<string, string>, id = sessionId) =>
    call(app, { method: 'DELETE', url: `/v1/sessions/${id}/agents/${agentId}`, headers })

  let res = await leave('guest', { 'x-agent-id': 'guest' })
  t.same([res.status, res.body.error], [401, 'missing_session_key'])
  res = await leave('guest', { 'x-agent-id': 'guest', 'x-session-key': hostKey })
  t.same([res.status, res.body.error], [401, 'invalid_session_key'])
  res = await leave('guest', { 'x-agent-id': 'host', 'x-session-key': hostKey })
  t.same([res.status, res.body.error], [403, 'forbidden'], 'someone else\'s id')
  res = await leave('host', { 'x-agent-id': 'host', 'x-session-key': hostKey })
  t.same([res.status, res.body.error], [403, 'forbidden'], 'the creator cannot leave')
  res = await leave('nobody', { 'x-agent-id': 'nobody', 'x-session-key': guestKey })
  t.same([res.status, res.body.error], [404, 'agent_not_found'])
  res = await leave('guest', { 'x-agent-id': 'guest', 'x-session-key': guestKey }, 'c'.repeat(48))
  t.same([res.status, res.body.error], [404, 'session_not_found'])
  res = await leave('guest', { 'x-session-key': guestKey })
  t.same([res.status, res.body.error], [400, 'missing_agent_id'])

  res = await leave('guest', { 'x-agent-id': 'guest', 'x-session-key': guestKey })
  t.equal(res.status, 200)
  t.match(res.body, { ok: true, sessionId, agentId: 'guest' })
  t.type(res.body.message, 'string')
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  t.same(status.body.agents, ['host'], 'the slot is free')
  const back = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' } })
  t.equal(back.status, 200, 'a departed agent may join again')
})

t.test('end: the key, the default reason, a redacted reason, and the end in every reply after it', async (t) => {
  const app = await build(t)
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  const end = (agentId: string, key: string | undefined, payload?: unknown) =>
    call(app, {
      method: 'POST',
      url: `/v1/sessions/${sessionId}/end`,
      headers: { 'x-agent-id': agentId, ...(key ? { 'x-session-key': key } : {}) },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    })
  t.equal((await end('guest', undefined)).body.error, 'missing_session_key')
  t.equal((await end('guest', hostKey)).status, 401, 'another member\'s key')
  t.equal((await end('guest', guestKey, { reason: 7 })).status, 400)
  t.equal((await end('guest', guestKey, { reason: 'x'.repeat(1001) })).status, 400)
  const unknown = await call(app, { method: 'POST', url: `/v1/sessions/${'f'.repeat(48)}/end`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey } })
  t.equal(unknown.status, 404)

  const fakes = makeFakes()
  const aws = fakes.find((f) => f.type === 'aws_access_key_id')!
  const ended = await end('guest', guestKey, { reason: `leaked ${aws.snippet}` })
  t.equal(ended.status, 200)
  t.match(ended.body, { sessionId, ended: { by: 'guest', reason: 'leaked [REDACTED:aws_access_key_id]', cursor: '1', at: String } })
  const page = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}/messages`, headers: { 'x-agent-id': 'host' } })
  t.same(page.body.ended, ended.body.ended)
  const final = page.body.messages.at(-1)
  t.match(final, {
    cursor: '1',
    agentId: 'system',
    text: 'guest ended the session: leaked [REDACTED:aws_access_key_id]',
    json: { event: 'session_ended', endedBy: 'guest', reason: 'leaked [REDACTED:aws_access_key_id]' },
    redactions: ['aws_access_key_id'],
  })
  t.notMatch(page.text, aws.secret, 'the secret is nowhere')
  t.same((await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })).body.ended, ended.body.ended)
  const renewed = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/renew`, headers: { 'x-agent-id': 'host' } })
  t.equal(renewed.status, 200, 'renew goes on')
  t.equal((await end('host', hostKey)).body.error, 'channel_ended')

  const other = await twoAgents(app)
  const byDefault = await call(app, { method: 'POST', url: `/v1/sessions/${other.sessionId}/end`, headers: { 'x-agent-id': 'host', 'x-session-key': other.hostKey } })
  t.equal(byDefault.body.ended.reason, 'Chat ended', 'no body: the default reason')
})
