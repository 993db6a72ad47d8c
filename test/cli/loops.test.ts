import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { jsonLines, pairedSession, readState, sleep, startServer, stateDir, until } from './helpers.js'

const server = await startServer(t)
const base = server.base

/** A loop's output as it runs, and its end. */
function watch(child: ChildProcess) {
  const out = { stdout: '', stderr: '' }
  child.stdout?.on('data', (chunk: Buffer) => (out.stdout += chunk.toString('utf8')))
  child.stderr?.on('data', (chunk: Buffer) => (out.stderr += chunk.toString('utf8')))
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })))
  return { out, ended }
}

t.test('poll-daemon: prints each batch, saves the cursor, stops after --ttl seconds', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  // stdin is not a terminal: no question asked, even without --yes.
  const started = Date.now()
  // Long enough that poll-status below still finds it running on a loaded machine.
  const daemon = watch(bob.spawn(['poll-daemon', sid, '--interval', '1', '--ttl', '6']))
  await until(() => existsSync(join(stateDir(bob.home), 'daemons', `${sid}.json`)))
  const record = JSON.parse(readState(bob.home, 'daemons', `${sid}.json`))
  t.match(record, { sessionId: sid, kind: 'poll-daemon', interval: 1, pid: Number, server: base, agentId: 'bob', until: /^\d{4}-/ })

  await until(() => daemon.out.stdout.includes('Hi, Alice here.'))
  await alice.run(['send', sid, 'while the daemon runs'])
  await until(() => daemon.out.stdout.includes('while the daemon runs'))
  const status = await bob.run(['poll-status'])
  t.match(status.json.daemons, [{ sessionId: sid, kind: 'poll-daemon', running: true, lastPolledAt: /^\d{4}-/ }])
  t.match(status.json.sessions, [{ sessionId: sid, loop: 'poll-daemon', cursor: '1' }])

  const end = await daemon.ended
  t.equal(end.code, 0)
  const elapsed = Date.now() - started
  t.ok(elapsed >= 5500 && elapsed < 15_000, `ran for its --ttl (${elapsed} ms)`)
  const batches = jsonLines(daemon.out.stdout)
  t.ok(batches.every((batch) => batch.messages.length > 0), 'only batches with messages are printed')
  t.same(batches.flatMap((batch) => batch.messages.map((m: any) => m.text)), ['Hi, Alice here.', 'while the daemon runs'])
  t.equal(readState(bob.home, 'sessions', sid, 'cursor').trim(), '1')
  t.notOk(existsSync(join(stateDir(bob.home), 'daemons', `${sid}.json`)), 'its record is gone')
  const after = await bob.run(['poll-status'])
  t.same(after.json.daemons, [])
  t.equal(after.json.sessions[0].loop, null)
})

t.test('heartbeat: polls until a signal, exits 0, one loop per session', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  await bob.run(['alias', sid, 'hb'])
  const heartbeat = watch(bob.spawn(['heartbeat', 'hb', '--interval', '1']))
  await until(() => heartbeat.out.stdout.includes('Hi, Alice here.'))
  await alice.run(['send', sid, 'ping'])
  await until(() => heartbeat.out.stdout.includes('ping'))

  const second = await bob.run(['heartbeat', sid])
  t.equal(second.code, 1)
  t.match(second.json, { error: 'a poll loop already runs for this session', kind: 'heartbeat' })
  const status = await bob.run(['poll-status'])
  t.match(status.json.daemons, [{ sessionId: sid, alias: 'hb', kind: 'heartbeat', running: true, interval: 1, until: null }])

  const polledBefore = readState(bob.home, 'sessions', sid, 'last_poll')
  // last_poll has whole seconds: it moves within a few polls of a second each, however loaded.
  await until(() => readState(bob.home, 'sessions', sid, 'last_poll') !== polledBefore, 10_000)
  t.pass('it keeps polling')

  const stopping = Date.now()
  const record = JSON.parse(readState(bob.home, 'daemons', `${sid}.json`))
  process.kill(record.pid, 'SIGTERM')
  const end = await heartbeat.ended
  t.equal(end.code, 0, 'a signal stops the loop cleanly')
  t.ok(Date.now() - stopping < 3000, 'promptly')
  t.notOk(existsSync(join(stateDir(bob.home), 'daemons', `${sid}.json`)))
  t.same(jsonLines(heartbeat.out.stdout).flatMap((b) => b.messages.map((m: any) => m.text)), ['Hi, Alice here.', 'ping'])
})

t.test('a loop stops with the server error when the session is gone; a dead record is reported', async (t) => {
  const { bob, sid } = await pairedSession(t, base)
  const heartbeat = watch(bob.spawn(['heartbeat', sid, '--interval', '1']))
  await until(() => heartbeat.out.stdout.includes('Hi, Alice here.'))
  const key = readState(bob.home, 'sessions', sid, 'key').trim()
  await server.app.inject({ method: 'DELETE', url: `/v1/sessions/${sid}/agents/bob`, headers: { 'x-agent-id': 'bob', 'x-session-key': key } })
  const end = await heartbeat.ended
  t.equal(end.code, 1)
  t.equal(jsonLines(heartbeat.out.stdout).at(-1).error, 'agent_not_in_session')

  // A record left by a loop that was killed outright is reported as not running.
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(stateDir(bob.home), 'daemons', `${sid}.json`),
    JSON.stringify({ sessionId: sid, kind: 'heartbeat', pid: 999999, interval: 30, startedAt: '2026-01-01T00:00:00Z', until: null }))
  const status = await bob.run(['poll-status'])
  t.match(status.json.daemons, [{ sessionId: sid, running: false }])
})

t.test('a loop rides out a server that is down for a while', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  await bob.run(['poll', sid])
  const { createServer } = await import('node:http')
  // A flaky front: 503 for the first two polls, then the real server behind it.
  let polls = 0
  const front = createServer(async (request, response) => {
    polls++
    if (polls <= 2) {
      response.writeHead(503, { 'content-type': 'text/html' })
      return response.end('<h1>down for maintenance</h1>')
    }
    const reply = await server.app.inject({ method: request.method as 'GET', url: request.url ?? '/', headers: request.headers as Record<string, string> })
    response.writeHead(reply.statusCode, { 'content-type': String(reply.headers['content-type']) })
    response.end(reply.body)
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => front.close(() => resolve())))
  const url = `http://127.0.0.1:${(front.address() as { port: number }).port}`
  await alice.run(['send', sid, 'after the outage'])
  // NEXUS_RETRY_MAX keeps the second wait at 1 s instead of 2: the backoff itself is rules.test.ts's.
  const daemon = watch(bob.spawn(['poll-daemon', sid, '--interval', '1', '--ttl', '12', '--url', url], { env: { NEXUS_RETRY_MAX: '1' } }))
  await until(() => daemon.out.stdout.includes('after the outage'), 15_000)
  t.match(daemon.out.stderr, /poll failed \(non_json_response\); retrying in 1s/)
  process.kill(JSON.parse(readFileSync(join(stateDir(bob.home), 'daemons', `${sid}.json`), 'utf8')).pid, 'SIGINT')
  t.equal((await daemon.ended).code, 0)
})

t.test('the loops long-poll: each message arrives within moments, not an interval', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  const child = bob.spawn(['heartbeat', sid, '--interval', '5'])
  const heartbeat = watch(child)
  await until(() => heartbeat.out.stdout.includes('Hi, Alice here.'))
  // Polling every 5 s would deliver each of these after 0-5 s; a held poll delivers at once.
  for (const [i, pause] of [700, 1900, 3100].entries()) {
    await sleep(pause)
    const sentAt = Date.now()
    await alice.run(['send', sid, `right away ${i}`])
    await until(() => heartbeat.out.stdout.includes(`right away ${i}`), 10_000)
    const took = Date.now() - sentAt
    t.ok(took < 1500, `message ${i} delivered ${took} ms after its send`)
  }
  child.kill('SIGINT')
  const end = await heartbeat.ended
  t.equal(end.code, 0, 'stops cleanly after the poll in flight')
})
