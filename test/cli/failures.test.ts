import { existsSync } from 'node:fs'
import t from 'tap'
import { agent, deadPort, fakeClock, fakeServer, pairedSession, readState, sessionDir, startServer } from './helpers.js'

// A server whose clock the tests move, to expire sessions without waiting.
const clock = fakeClock()
const server = await startServer(t, {}, clock.now)
const base = server.base

/** A stand-in that answers every request the same way: a proxy's page, a limiter, a broken server. */
const stand = (status: number, type: string, body: string, headers: Record<string, string> = {}) =>
  fakeServer(t, (_request, response) => {
    response.writeHead(status, { 'content-type': type, ...headers })
    response.end(body)
  })

t.test('a dead server, a proxy page, 429, 5xx: one JSON object, exit 1, and the next command works', async (t) => {
  const { bob, sid } = await pairedSession(t, base)
  const dead = `http://127.0.0.1:${await deadPort()}`
  const html = await stand(502, 'text/html', '<html><body><h1>502 Bad Gateway</h1></body></html>')
  const okHtml = await stand(200, 'text/html; charset=utf-8', '<!doctype html><p>Please log in to the corporate proxy</p>')
  const limited = await stand(429, 'application/json; charset=utf-8',
    JSON.stringify({ error: 'rate_limit_exceeded', message: 'Too many requests. Retry in 12 s.' }), { 'retry-after': '12' })
  const broken = await stand(500, 'application/json; charset=utf-8', JSON.stringify({ error: 'internal_error', message: 'Something went wrong on our side.' }))
  const plain = await stand(503, 'text/plain', 'Service Unavailable')

  const cases: Array<[string, string, (json: any) => void]> = [
    ['dead server', dead, (json) => t.match(json, { error: 'transport_error', curlExit: 7, server: dead, message: /could not connect/ })],
    ['proxy HTML page', html.base, (json) => t.match(json, { error: 'non_json_response', status: 502, contentType: 'text/html' })],
    ['HTML with 200', okHtml.base, (json) => t.match(json, { error: 'non_json_response', status: 200 })],
    ['429', limited.base, (json) => t.same(json, { error: 'rate_limit_exceeded', message: 'Too many requests. Retry in 12 s.' })],
    ['500', broken.base, (json) => t.same(json, { error: 'internal_error', message: 'Something went wrong on our side.' })],
    ['503 text', plain.base, (json) => t.match(json, { error: 'non_json_response', status: 503 })],
  ]
  for (const [name, url, check] of cases) {
    for (const args of [['poll', sid], ['send', sid, 'hello'], ['status', sid]]) {
      const result = await bob.run([...args, '--url', url])
      t.equal(result.code, 1, `${name}: ${args[0]} exits 1`)
      t.equal(result.stdout.trim().split('\n').length, 1, `${name}: ${args[0]} prints one line`)
      check(result.json)
      t.notMatch(result.stderr, /line \d+|unbound|syntax/, `${name}: no bash trace`)
    }
    const next = await bob.run(['poll', sid])
    t.equal(next.code, 0, `${name}: the next command works`)
  }
  t.equal(readState(bob.home, 'sessions', sid, 'server').trim(), base, 'failures never rebind')
})

t.test('every request has a timeout (NEXUS_HTTP_TIMEOUT)', async (t) => {
  const silent = await fakeServer(t, () => {
    // never answers
  })
  const someone = agent(t, silent.base, { NEXUS_HTTP_TIMEOUT: '1' })
  const result = await someone.run(['status', 'a'.repeat(48)])
  t.equal(result.code, 1)
  t.match(result.json, { error: 'transport_error', curlExit: 28, message: /timed out/ })
  t.ok(result.ms < 5000, `gave up after about a second (${result.ms} ms)`)
  const bad = await someone.run(['status', 'x'], { env: { NEXUS_HTTP_TIMEOUT: 'soon' } })
  t.same(bad.json, { error: 'invalid NEXUS_HTTP_TIMEOUT: soon' })
})

t.test('an expired session: 404 from the server, leave cleans up', async (t) => {
  const alice = agent(t, base)
  const bob = agent(t, base)
  const created = await alice.run(['create', '--ttl', '60', '--creator-agent-id', 'alice'])
  const sid: string = created.json.sessionId
  const code = (await alice.run(['pair', sid])).json.code
  await bob.run(['claim', code, '--agent-id', 'bob'])
  await bob.run(['alias', sid, 'short'])
  clock.advance(61_000)

  for (const args of [['poll', 'short'], ['send', 'short', 'too late'], ['status', 'short'], ['renew', 'short'], ['pair', 'short']]) {
    const result = await bob.run(args)
    t.equal(result.code, 1, String(args[0]))
    t.equal(result.json.error, 'session_not_found', String(args[0]))
  }
  const listed = await bob.run(['ls', '--json'])
  t.equal(listed.json.sessions[0].status, 'not_found')

  const left = await bob.run(['leave', 'short'])
  t.equal(left.code, 1, "the server's 404 is still an error")
  t.equal(left.json.error, 'session_not_found')
  t.notOk(existsSync(sessionDir(bob.home, sid)), 'but the session is gone, so its state goes')
  t.same(JSON.parse(readState(bob.home, 'aliases.json')), {})
  t.match(left.stderr, 'local state and aliases removed')

  const expiredCode = await bob.run(['claim', code, '--agent-id', 'carol'])
  t.equal(expiredCode.code, 1)
})

t.test('leave keeps the state when the outcome is unknown', async (t) => {
  const { bob, sid } = await pairedSession(t, base)
  const dead = `http://127.0.0.1:${await deadPort()}`
  const down = await bob.run(['leave', sid, '--url', dead])
  t.equal(down.code, 1)
  t.equal(down.json.error, 'transport_error')
  t.ok(existsSync(sessionDir(bob.home, sid)), 'server down: kept')

  const broken = await stand(500, 'application/json', JSON.stringify({ error: 'internal_error', message: 'x' }))
  const failed = await bob.run(['leave', sid, '--url', broken.base])
  t.equal(failed.json.error, 'internal_error')
  t.ok(existsSync(sessionDir(bob.home, sid)), '5xx: kept')

  const limited = await stand(429, 'application/json', JSON.stringify({ error: 'rate_limit_exceeded', message: 'x' }))
  t.equal((await bob.run(['leave', sid, '--url', limited.base])).json.error, 'rate_limit_exceeded')
  t.ok(existsSync(sessionDir(bob.home, sid)), '429: kept')

  const proxy = await stand(404, 'text/html', '<h1>Not Found</h1>')
  t.equal((await bob.run(['leave', sid, '--url', proxy.base])).json.error, 'non_json_response')
  t.ok(existsSync(sessionDir(bob.home, sid)), "a proxy's 404 page: kept")

  // Another server saying "no such session" proves nothing about the one it is bound to.
  const elsewhere = await stand(404, 'application/json', JSON.stringify({ error: 'session_not_found', message: 'x' }))
  const other = await bob.run(['leave', sid, '--url', elsewhere.base])
  t.equal(other.json.error, 'session_not_found')
  t.ok(existsSync(sessionDir(bob.home, sid)), 'a 404 from another server than the binding: kept')
  t.match(other.stderr, `it is bound to ${base}`)

  const gone = await bob.run(['leave', sid])
  t.equal(gone.code, 0)
  t.notOk(existsSync(sessionDir(bob.home, sid)), 'confirmed: cleaned')
})

t.test('a member removed by the server: leave hears agent_not_found and cleans up', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  const key = readState(bob.home, 'sessions', sid, 'key').trim()
  // Bob leaves from elsewhere (another copy of his state), then this copy tries.
  const response = await server.app.inject({ method: 'DELETE', url: `/v1/sessions/${sid}/agents/bob`, headers: { 'x-agent-id': 'bob', 'x-session-key': key } })
  t.equal(response.statusCode, 200)
  const left = await bob.run(['leave', sid])
  t.equal(left.json.error, 'agent_not_found')
  t.notOk(existsSync(sessionDir(bob.home, sid)))
  const wrongKey = await alice.run(['send', sid, 'hi', '--agent-id', 'alice'])
  t.equal(wrongKey.code, 0)
})
