import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { agent, deadPort, modeOf, pairedSession, readState, sessionDir, startServer, stateDir } from './helpers.js'

const server = await startServer(t)
const base = server.base

t.test('aliases: alias, resolution everywhere, unalias, ls', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  const named = await bob.run(['alias', sid, 'alice-chat'])
  t.equal(named.code, 0)
  t.same(named.json, { alias: 'alice-chat', sessionId: sid })
  const again = await bob.run(['alias', 'alice-chat', 'ac'])
  t.same(again.json, { alias: 'ac', sessionId: sid }, 'an alias of an alias names the same session')

  await alice.run(['send', sid, 'to the alias'])
  const read = await bob.run(['poll', 'ac'])
  t.same(read.json.messages.map((m: any) => m.text), ['Hi, Alice here.', 'to the alias'])
  t.equal((await bob.run(['status', 'alice-chat'])).json.sessionId, sid)
  t.equal((await bob.run(['send', 'ac', 'via alias'])).code, 0)
  t.equal((await bob.run(['renew', 'ac'])).code, 0)

  const listed = await bob.run(['ls'])
  t.equal(listed.code, 0)
  t.same(listed.json, { sessions: [{ sessionId: sid, alias: 'ac', agentId: 'bob', status: 'active', server: base, cursor: '1' }] })
  t.match(listed.stderr, /SESSION\s+ALIAS\s+AGENT\s+STATUS/, 'a table for people on stderr')
  const quiet = await bob.run(['ls', '--json'])
  t.notMatch(quiet.stderr, 'SESSION', '--json: no table')

  const removed = await bob.run(['unalias', 'ac'])
  t.same(removed.json, { removed: 'ac', sessionId: sid })
  t.same(JSON.parse(readState(bob.home, 'aliases.json')), { 'alice-chat': sid })
  const gone = await bob.run(['unalias', 'ac'])
  t.same(gone.json, { error: 'unknown alias: ac' })

  const badName = await bob.run(['alias', sid, '-x'])
  t.equal(badName.code, 1)
  const hexName = await bob.run(['alias', sid, sid])
  t.match(hexName.json.error, 'invalid alias name')
  const unknown = await bob.run(['status', 'no-such-alias'])
  t.equal(unknown.json.error, 'session_not_found', 'an unknown name is tried as an id: the server says no')
  t.match(unknown.stderr, "no alias named 'no-such-alias'")
})

t.test('ls probes every session on its own server; poll-all polls them', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  const second = await pairedSession(t, base, 'second session')
  // Bob joins the second session too, so he has two local sessions, plus two broken ones.
  const code = (await second.alice.run(['pair', second.sid])).json.code
  t.equal((await bob.run(['claim', code, '--agent-id', 'bobby'])).code, 0)
  await bob.run(['alias', second.sid, 'two'])
  const ghost = 'e'.repeat(48)
  mkdirSync(sessionDir(bob.home, ghost), { recursive: true, mode: 0o700 })
  writeFileSync(join(sessionDir(bob.home, ghost), 'agent'), 'bob\n')
  writeFileSync(join(sessionDir(bob.home, ghost), 'server'), `${base}\n`)
  const far = 'd'.repeat(48)
  mkdirSync(sessionDir(bob.home, far), { recursive: true, mode: 0o700 })
  writeFileSync(join(sessionDir(bob.home, far), 'agent'), 'bob\n')
  writeFileSync(join(sessionDir(bob.home, far), 'server'), `http://127.0.0.1:${await deadPort()}\n`)

  const listed = await bob.run(['ls', '--json'])
  const byId = Object.fromEntries(listed.json.sessions.map((s: any) => [s.sessionId, s]))
  t.equal(byId[sid].status, 'active')
  t.equal(byId[second.sid].status, 'active')
  t.equal(byId[second.sid].alias, 'two')
  t.equal(byId[ghost].status, 'not_found')
  t.equal(byId[far].status, 'unreachable')
  const active = await bob.run(['ls', '--active', '--json'])
  t.same(active.json.sessions.map((s: any) => s.sessionId).sort(), [sid, second.sid].sort())

  await alice.run(['send', sid, 'for poll-all'])
  const all = await bob.run(['poll-all', '--active', '--members'])
  t.equal(all.code, 0, all.stdout)
  const polled = Object.fromEntries(all.json.sessions.map((s: any) => [s.sessionId, s]))
  t.same(Object.keys(polled).sort(), [sid, second.sid].sort())
  t.same(polled[sid].messages.map((m: any) => m.text), ['Hi, Alice here.', 'for poll-all'])
  t.same(polled[second.sid].messages.map((m: any) => m.text), ['second session'])
  t.equal(polled[second.sid].alias, 'two')
  t.same(polled[sid].members.map((m: any) => m.agentId).sort(), ['alice', 'bob'])
  t.equal(readState(bob.home, 'sessions', sid, 'cursor').trim(), '1', 'poll-all saves cursors')

  const everything = await bob.run(['poll-all'])
  t.equal(everything.code, 1, 'a session that fails makes poll-all exit 1')
  const entries = Object.fromEntries(everything.json.sessions.map((s: any) => [s.sessionId, s]))
  t.same(entries[sid].messages, [])
  t.equal(entries[sid].members, null)
  t.equal(entries[ghost].error.error, 'session_not_found')
  t.equal(entries[far].error.error, 'transport_error')
})

t.test('server choice: --url > NEXUS_URL > config.json > default; bindings; provenance', async (t) => {
  const { bob, sid } = await pairedSession(t, base)
  const dead = `http://127.0.0.1:${await deadPort()}`

  // Bound to where it was joined: NEXUS_URL elsewhere does not move it.
  const bound = await bob.run(['poll', sid], { env: { NEXUS_URL: dead } })
  t.equal(bound.code, 0)
  t.match(bound.stderr, `server ${base} (session binding; NEXUS_URL ignored)`)

  // --url wins, with a warning.
  const overridden = await bob.run(['poll', sid, '--url', dead])
  t.equal(overridden.code, 1)
  t.equal(overridden.json.error, 'transport_error')
  t.match(overridden.stderr, `is bound to ${base}; --url ${dead} wins`)
  t.equal(readState(bob.home, 'sessions', sid, 'server').trim(), base, 'the binding is unchanged')

  // config set-url / show / unset.
  const nobody = agent(t, undefined)
  const shown = await nobody.run(['config', 'show'])
  t.match(shown.json, { serverUrl: null, effective: { url: 'http://localhost:8765', source: 'built-in default' } })
  const set = await nobody.run(['config', 'set-url', `${base}/`])
  t.match(set.json, { serverUrl: base, effective: { url: base, source: 'config.json' } })
  const config = JSON.parse(readState(nobody.home, 'config.json'))
  t.equal(config.serverUrl, base)
  t.match(config.updatedAt, /^\d{4}-\d\d-\d\dT/)
  t.equal(modeOf(join(stateDir(nobody.home), 'config.json')), 0o600)
  const created = await nobody.run(['create'])
  t.equal(created.code, 0)
  t.match(created.stderr, `server ${base} (config.json)`)
  const env = await nobody.run(['config', 'show'], { env: { NEXUS_URL: dead } })
  t.match(env.json.effective, { url: dead, source: 'NEXUS_URL' })
  const flag = await nobody.run(['config', 'show', '--url', 'http://example.com'], { env: { NEXUS_URL: dead } })
  t.match(flag.json.effective, { url: 'http://example.com', source: '--url' })
  const unset = await nobody.run(['config', 'unset'])
  t.equal(unset.json.serverUrl, null)
  t.notOk(existsSync(join(stateDir(nobody.home), 'config.json')))
  const bad = await nobody.run(['config', 'set-url', 'ftp://nope'])
  t.match(bad.json.error, 'invalid server URL')
  const badEnv = await nobody.run(['config', 'show'], { env: { NEXUS_URL: 'not a url' } })
  t.match(badEnv.json.error, 'invalid server URL in NEXUS_URL')
})

t.test('an unbound session adopts the server of its first success; bind checks first', async (t) => {
  const { bob, sid } = await pairedSession(t, base)
  rmSync(join(sessionDir(bob.home, sid), 'server'))
  const polled = await bob.run(['poll', sid])
  t.equal(polled.code, 0)
  t.match(polled.stderr, `server ${base} (NEXUS_URL)`)
  t.equal(readState(bob.home, 'sessions', sid, 'server').trim(), base)

  rmSync(join(sessionDir(bob.home, sid), 'server'))
  const failed = await bob.run(['poll', sid], { env: { NEXUS_URL: `http://127.0.0.1:${await deadPort()}` } })
  t.equal(failed.code, 1)
  t.notOk(existsSync(join(sessionDir(bob.home, sid), 'server')), 'a failure binds nothing')

  const bind = await bob.run(['bind', sid])
  t.same(bind.json, { sessionId: sid, server: base, bound: true })
  t.equal(readState(bob.home, 'sessions', sid, 'server').trim(), base)
  const missing = await bob.run(['bind', 'a'.repeat(48)])
  t.equal(missing.json.error, 'session_not_found')
  t.notOk(existsSync(sessionDir(bob.home, 'a'.repeat(48))))
})

t.test('damaged state files give a JSON error, not a bash trace', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  await alice.run(['send', sid, 'x'])
  await bob.run(['poll', sid])
  const dir = sessionDir(bob.home, sid)
  const cases: Array<[string, string, string[]]> = [
    ['cursor', '', ['poll', sid]],
    ['cursor', 'not a number\n', ['poll', sid]],
    ['key', '', ['send', sid, 'hi']],
    ['agent', 'bad agent id!\n', ['send', sid, 'hi']],
    ['server', 'gopher://x\n', ['status', sid]],
  ]
  for (const [file, content, args] of cases) {
    const saved = readFileSync(join(dir, file))
    writeFileSync(join(dir, file), content)
    const result = await bob.run(args)
    t.equal(result.code, 1, `${file} ${JSON.stringify(content)}`)
    t.same(result.json, { error: 'corrupt state file', file: join(dir, file) })
    t.notMatch(result.stderr, /line \d+:|syntax error|unbound/, 'no bash trace')
    writeFileSync(join(dir, file), saved)
  }
  for (const [file, content] of [['aliases.json', '{"broken'], ['aliases.json', ''], ['config.json', '[1,']] as const) {
    writeFileSync(join(stateDir(bob.home), file), content)
    const result = await bob.run(file === 'aliases.json' ? ['poll', 'some-alias'] : ['create'], { env: { NEXUS_URL: undefined } })
    t.same(result.json, { error: 'corrupt state file', file: join(stateDir(bob.home), file) }, `${file} ${JSON.stringify(content)}`)
    rmSync(join(stateDir(bob.home), file))
  }
  t.equal((await bob.run(['poll', sid])).code, 0, 'repaired: works again')
})

t.test('doctor: healthy, then each problem it finds', async (t) => {
  const { bob, sid } = await pairedSession(t, base)
  const healthy = await bob.run(['doctor'])
  t.equal(healthy.code, 0, healthy.stdout)
  t.match(healthy.json, {
    ok: true,
    stateDir: { mode: '700', ok: true },
    servers: [{ url: base, reachable: true, ok: true, messageFormat: ['text', 'json'] }],
    sessions: [{ sessionId: sid, agentId: 'bob', reachable: true, status: 'active', member: true, keyMode: '600', ok: true, problems: [] }],
  })

  chmodSync(join(sessionDir(bob.home, sid), 'key'), 0o644)
  const loose = await bob.run(['doctor'])
  t.equal(loose.code, 1)
  t.match(loose.json.sessions[0], { ok: false, keyMode: '644', problems: ['key file mode is 644, not 600'] })
  chmodSync(join(sessionDir(bob.home, sid), 'key'), 0o600)

  const down = await bob.run(['doctor'], { env: { NEXUS_URL: `http://127.0.0.1:${await deadPort()}` } })
  t.equal(down.code, 1)
  t.match(down.json.servers[0], { reachable: false, ok: false, error: { error: 'transport_error' } })
  t.equal(down.json.sessions[0].ok, true, 'the session itself is fine on its own server')

  await bob.run(['leave', sid])
  mkdirSync(sessionDir(bob.home, sid), { recursive: true })
  writeFileSync(join(sessionDir(bob.home, sid), 'agent'), 'bob\n')
  const notMember = await bob.run(['doctor'])
  t.equal(notMember.code, 1)
  t.match(notMember.json.sessions[0], { member: false, ok: false })
  t.match(notMember.json.sessions[0].problems.join(' '), /no key file.*not a member/)
})

t.test('concurrent polls: the cursor file stays valid and never moves back', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  const cursorFile = join(sessionDir(bob.home, sid), 'cursor')
  const seen: string[] = []
  let watching = true
  const watcher = (async () => {
    while (watching) {
      if (existsSync(cursorFile)) seen.push(readFileSync(cursorFile, 'utf8'))
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const sends = (async () => {
    for (let i = 0; i < 15; i++) await alice.run(['send', sid, `m${i}`])
  })()
  const polls = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
    await new Promise((resolve) => setTimeout(resolve, i * 40))
    return bob.run(['poll', sid])
  }))
  await sends
  const last = await bob.run(['poll', sid])
  watching = false
  await watcher

  for (const result of [...polls, last]) t.equal(result.code, 0, result.stdout)
  const reported = [...polls, last].map((r) => Number(r.json.nextCursor))
  t.equal(readFileSync(cursorFile, 'utf8'), `${Math.max(...reported)}\n`, 'the file holds the furthest cursor any poll saw')
  t.equal(Math.max(...reported), 15)
  let previous = -1
  let backwards = 0
  const torn = seen.filter((content) => !/^\d+\n$/.test(content))
  for (const content of seen) {
    if (Number(content) < previous) backwards++
    previous = Number(content)
  }
  t.ok(seen.length > 10, `the file was read while the polls ran (${seen.length} reads)`)
  t.same(torn, [], 'every read of the file is a whole cursor')
  t.equal(backwards, 0, 'the cursor never moved back')
  t.notOk(readFileSync(join(sessionDir(bob.home, sid), '.lock'), 'utf8').length, 'the lock file holds nothing')
})
