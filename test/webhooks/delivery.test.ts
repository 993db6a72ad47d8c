import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { build, call, send, twoAgents } from '../helpers.js'
import { Receiver, until } from './receiver.js'

/** Loopback allowed (the receiver is on 127.0.0.1), retries quick so no case waits long. */
const env = { WEBHOOK_ALLOW_PRIVATE: '127.0.0.0/8', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_SECONDS: '1', WEBHOOK_TIMEOUT_SECONDS: '1' }

async function receiver(t: Test): Promise<Receiver> {
  const r = await new Receiver().start()
  t.teardown(() => r.stop())
  return r
}


function setHook(app: Awaited<ReturnType<typeof build>>, sessionId: string, agentId: string, key: string, url: string) {
  return call(app, { method: 'PUT', url: `/v1/sessions/${sessionId}/webhook`, headers: { 'x-agent-id': agentId, 'x-session-key': key }, payload: { url } })
}

function getHook(app: Awaited<ReturnType<typeof build>>, sessionId: string, agentId: string, key: string) {
  return call(app, { method: 'GET', url: `/v1/sessions/${sessionId}/webhook`, headers: { 'x-agent-id': agentId, 'x-session-key': key } })
}

t.test('every message arrives once, in order, signed so the Standard Webhooks library verifies it; own messages are left out', async (t) => {
  const r = await receiver(t)
  const app = await build(t, env)
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  await send(app, sessionId, 'host', { text: 'before the webhook' }, hostKey)
  const set = await setHook(app, sessionId, 'guest', guestKey, r.url)
  t.equal(set.status, 200)
  t.match(set.body.secret, /^whsec_/)
  for (let i = 0; i < 20; i++) await send(app, sessionId, 'host', { text: `m${i}` }, hostKey)
  await send(app, sessionId, 'guest', { text: 'my own' }, guestKey)
  await send(app, sessionId, 'host', { text: 'last' }, hostKey)
  t.ok(await until(() => r.texts().includes('last')), 'the last message arrived')
  t.same(r.texts(), [...Array.from({ length: 20 }, (_, i) => `m${i}`), 'last'])
  t.ok(r.verify(set.body.secret), 'every delivery verifies')
  t.notOk(r.verify('whsec_' + Buffer.alloc(32, 1).toString('base64')), 'and fails with another secret')
  t.equal(r.deliveries[0]?.json.sessionId, sessionId)
  t.equal(r.deliveries[0]?.json.agentId, 'guest')
  const ids = r.deliveries.map((d) => d.headers['webhook-id'])
  t.equal(new Set(ids).size, ids.length, 'each batch has its own id')
  t.notOk(r.deliveries.some((d) => d.body.includes(hostKey) || d.body.includes(guestKey) || d.body.includes(set.body.secret)), 'no key or secret in a delivery')
  const health = await getHook(app, sessionId, 'guest', guestKey)
  t.equal(health.status, 200)
  t.match(health.body.webhook, { url: r.url, lastError: null, attempts: 0 })
  t.notOk('secret' in health.body.webhook, 'the secret is shown only once')
  t.type(health.body.webhook.lastSuccessAt, 'string')
})

t.test('a receiver that fails, hangs, or is down gets the backlog in order once it recovers', async (t) => {
  const r = await receiver(t)
  const app = await build(t, env)
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  await setHook(app, sessionId, 'guest', guestKey, r.url)

  r.mode = 'fail'
  await send(app, sessionId, 'host', { text: 'a' }, hostKey)
  t.ok(await until(() => r.refused >= 2), 'retried')
  const failing = await getHook(app, sessionId, 'guest', guestKey)
  t.match(failing.body.webhook, { lastError: 'HTTP 500', pending: 1 })
  t.ok(failing.body.webhook.attempts >= 1)
  await send(app, sessionId, 'host', { text: 'b' }, hostKey)
  r.mode = 'hang'
  const refused = r.refused
  t.ok(await until(() => r.refused > refused), 'called while hanging')
  await send(app, sessionId, 'host', { text: 'c' }, hostKey)
  const port = r.port
  await r.stop()
  await send(app, sessionId, 'host', { text: 'd' }, hostKey)
  r.mode = 'ok'
  await r.start(port)
  t.ok(await until(() => r.texts().includes('d'), 8000), 'the backlog arrived')
  t.same(r.texts(), ['a', 'b', 'c', 'd'])
  const healthy = await getHook(app, sessionId, 'guest', guestKey)
  t.match(healthy.body.webhook, { lastError: null, attempts: 0, pending: 0 })
})

t.test('a restart in the middle loses nothing (SQLite)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-webhooks-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const r = await receiver(t)
  const sqlite = { ...env, STORE: 'sqlite', DATA_DIR: dir }
  const first = await build(t, sqlite)
  const { sessionId, hostKey, guestKey } = await twoAgents(first)
  await setHook(first, sessionId, 'guest', guestKey, r.url)
  await send(first, sessionId, 'host', { text: 'one' }, hostKey)
  t.ok(await until(() => r.texts().length === 1))
  r.mode = 'fail'
  await send(first, sessionId, 'host', { text: 'two' }, hostKey)
  await send(first, sessionId, 'host', { text: 'three' }, hostKey)
  t.ok(await until(() => r.refused >= 1))
  await first.close()
  r.mode = 'ok'
  const second = await build(t, sqlite)
  t.ok(await until(() => r.texts().includes('three'), 8000), 'the restarted server delivered the rest')
  t.same(r.texts(), ['one', 'two', 'three'])
  await send(second, sessionId, 'host', { text: 'four' }, hostKey)
  t.ok(await until(() => r.texts().includes('four')))
  t.same(r.texts(), ['one', 'two', 'three', 'four'])
})

t.test('two instances on one Redis deliver each message once', async (t) => {
  const r = await receiver(t)
  const redis = { ...env, STORE: 'redis', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_PREFIX: `test-webhooks-${process.pid}-${Date.now()}:` }
  const a = await build(t, redis)
  const b = await build(t, redis)
  const { sessionId, hostKey, guestKey } = await twoAgents(a)
  await setHook(a, sessionId, 'guest', guestKey, r.url)
  // Replaced through b too: both instances now watch the session and race for every batch.
  const set = await setHook(b, sessionId, 'guest', guestKey, r.url)
  t.equal(set.body.replaced, true)
  const texts: string[] = []
  for (let i = 0; i < 40; i++) {
    const text = `m${i}`
    texts.push(text)
    await send(i % 2 === 0 ? a : b, sessionId, 'host', { text }, hostKey)
  }
  t.ok(await until(() => r.texts().length >= 40, 8000), 'all arrived')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(r.texts(), texts, 'each once, in order')
  const ids = r.deliveries.map((d) => d.headers['webhook-id'])
  t.equal(new Set(ids).size, ids.length, 'no batch twice')
  t.ok(r.verify(set.body.secret))
})

t.test('errors from the catalogue: a bad URL, a non-member, a wrong or missing key, too many webhooks', async (t) => {
  const app = await build(t, { WEBHOOK_MAX_PER_SESSION: '1' })
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  for (const url of ['ftp://example.com/x', 'not a url', 'http://user:pw@example.com/', 'http://127.0.0.1/x', 'http://[::ffff:127.0.0.1]/x', 'http://169.254.169.254/latest', 'http://10.1.2.3/', 'http://localhost:8080/']) {
    const refused = await setHook(app, sessionId, 'guest', guestKey, url)
    t.same([refused.status, refused.body.error], [400, 'webhook_url_refused'], url)
    t.equal(refused.body.details?.[0]?.path, 'url')
  }
  const number = await call(app, { method: 'PUT', url: `/v1/sessions/${sessionId}/webhook`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey }, payload: { url: 42 } })
  t.same([number.status, number.body.error], [400, 'webhook_url_refused'])
  const stranger = await setHook(app, sessionId, 'stranger', guestKey, 'https://example.com/hook')
  t.same([stranger.status, stranger.body.error], [403, 'agent_not_in_session'])
  const wrongKey = await setHook(app, sessionId, 'guest', hostKey, 'https://example.com/hook')
  t.same([wrongKey.status, wrongKey.body.error], [403, 'invalid_session_key'])
  const noKey = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}/webhook`, headers: { 'x-agent-id': 'guest' } })
  t.same([noKey.status, noKey.body.error], [401, 'missing_session_key'])
  const unknown = await setHook(app, 'nope', 'guest', guestKey, 'https://example.com/hook')
  t.same([unknown.status, unknown.body.error], [404, 'session_not_found'])
  t.equal((await setHook(app, sessionId, 'guest', guestKey, 'https://example.com/hook')).status, 200)
  const replaced = await setHook(app, sessionId, 'guest', guestKey, 'https://example.com/other')
  t.same([replaced.status, replaced.body.replaced], [200, true])
  const tooMany = await setHook(app, sessionId, 'host', hostKey, 'https://example.com/hook')
  t.same([tooMany.status, tooMany.body.error], [409, 'too_many_webhooks'])
  const removed = await call(app, { method: 'DELETE', url: `/v1/sessions/${sessionId}/webhook`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey } })
  t.same(removed.body, { ok: true, removed: true })
  t.same((await getHook(app, sessionId, 'guest', guestKey)).body, { webhook: null })
})

t.test('a join or a claim with webhookUrl sets the webhook and answers its secret; a bad one joins no one', async (t) => {
  const app = await build(t)
  const created = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const sessionId: string = created.body.sessionId
  const bad = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' }, payload: { webhookUrl: 'http://10.0.0.1/' } })
  t.same([bad.status, bad.body.error], [400, 'webhook_url_refused'])
  const status = await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  t.same(status.body.agents, ['host'], 'nobody joined')
  const joined = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' }, payload: { webhookUrl: 'https://example.com/hook' } })
  t.equal(joined.status, 200)
  t.match(joined.body.webhookSecret, /^whsec_/)
  t.equal((await getHook(app, sessionId, 'guest', joined.body.sessionKey)).body.webhook.url, 'https://example.com/hook')
  const pair = await call(app, { method: 'PUT', url: '/v1/pair', payload: { sessionId } })
  const claimed = await call(app, { method: 'POST', url: `/v1/pair/${pair.body.code}/claim`, headers: { 'x-agent-id': 'third' }, payload: { webhookUrl: 'https://example.com/third' } })
  t.equal(claimed.status, 200)
  t.match(claimed.body.webhookSecret, /^whsec_/)
  const plain = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'fourth' } })
  t.equal(plain.status, 200)
  t.notOk('webhookSecret' in plain.body)
})

t.test('at one delivery per host at a time, many webhooks of one host all get theirs, in order, batched', async (t) => {
  const r = await receiver(t)
  const app = await build(t, { ...env, WEBHOOK_MAX_PER_HOST: '1' })
  const sessions = []
  for (let i = 0; i < 5; i++) {
    const s = await twoAgents(app)
    await setHook(app, s.sessionId, 'guest', s.guestKey, r.url)
    sessions.push(s)
  }
  const sent = new Map<string, string[]>()
  await Promise.all(sessions.map(async (s, i) => {
    const texts: string[] = []
    for (let n = 0; n < 10; n++) {
      texts.push(`s${i}-${n}`)
      await send(app, s.sessionId, 'host', { text: `s${i}-${n}` }, s.hostKey)
    }
    sent.set(s.sessionId, texts)
  }))
  t.ok(await until(() => r.texts().length >= 50, 8000), 'all 50 arrived')
  for (const s of sessions) {
    const got = r.deliveries.filter((d) => d.json.sessionId === s.sessionId).flatMap((d) => d.json.messages.map((m) => m.text))
    t.same(got, sent.get(s.sessionId), 'in order, once')
  }
  t.ok(r.deliveries.length <= 50)
})
