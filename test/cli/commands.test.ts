import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { agent, modeOf, pairedSession, readState, root, run, sessionDir, startServer, stateDir, which } from './helpers.js'

// One server for the whole file; every test has its own agents, each in its own HOME.
const server = await startServer(t)
const base = server.base

t.test('the pairing story, as a newcomer lives it', async (t) => {
  const alice = agent(t, base)
  const bob = agent(t, base)

  // A creates a session with a greeting, as its creator.
  const created = await alice.run(['create', '--creator-agent-id', 'alice', '--greeting', 'Hi, Alice here.', '--ttl', '600'])
  t.equal(created.code, 0, created.stderr)
  t.match(created.json, { sessionId: /^[0-9a-f]{48}$/, ttl: 600, state: 'active', creatorAgentId: 'alice', sessionKey: /^[0-9a-f]{64}$/ })
  t.match(created.stderr, `server ${base} (NEXUS_URL)`, 'one provenance line names the server and why')
  t.equal(created.stderr.split('\n').filter((line) => line.includes('(NEXUS_URL)')).length, 1)
  const sid: string = created.json.sessionId
  t.equal(readState(alice.home, 'sessions', sid, 'agent').trim(), 'alice')
  t.equal(readState(alice.home, 'sessions', sid, 'key').trim(), created.json.sessionKey)
  t.equal(readState(alice.home, 'sessions', sid, 'server').trim(), base)

  // A pairs; B checks the code and claims it.
  const paired = await alice.run(['pair', sid])
  t.equal(paired.code, 0)
  t.same(Object.keys(paired.json).sort(), ['code', 'expiresAt', 'url'])
  t.match(paired.json.url, `${base}/p/${paired.json.code}`)
  t.match(paired.stderr, paired.json.url, 'the link is repeated for the person on stderr')

  const pending = await bob.run(['pair-status', paired.json.code])
  t.match(pending.json, { code: paired.json.code, state: 'pending' })

  const claimed = await bob.run(['claim', paired.json.code, '--agent-id', 'bob'])
  t.equal(claimed.code, 0, claimed.stderr)
  t.match(claimed.json, { sessionId: sid, status: 'claimed', agentId: 'bob', sessionKey: /^[0-9a-f]{64}$/ })
  t.match(claimed.stderr, `nexus.sh poll ${sid}`, 'claim says what to do next')
  t.equal(readState(bob.home, 'sessions', sid, 'key').trim(), claimed.json.sessionKey)
  t.equal(readState(bob.home, 'sessions', sid, 'server').trim(), base)

  const spent = await alice.run(['pair-status', paired.json.code])
  t.equal(spent.json.state, 'claimed')

  // B reads from the start (the greeting) and answers; A sees B's verified message.
  const first = await bob.run(['poll', sid])
  t.equal(first.code, 0)
  t.same(first.json.messages.map((m: any) => [m.cursor, m.agentId, m.text]), [['0', 'system', 'Hi, Alice here.']])
  t.equal(readState(bob.home, 'sessions', sid, 'cursor').trim(), '0')

  const sent = await bob.run(['send', sid, 'Hello', 'Alice!'])
  t.equal(sent.code, 0)
  t.match(sent.json, { id: /^msg_/, cursor: '1', verified: true, redactions: [] })

  const read = await alice.run(['poll', sid])
  t.match(read.json.messages.at(-1), { agentId: 'bob', text: 'Hello Alice!', verified: true })
  const answer = await alice.run(['send', sid, 'Welcome, Bob.'])
  t.equal(answer.json.verified, true)
  const reply = await bob.run(['poll', sid])
  t.same(reply.json.messages.map((m: any) => m.text), ['Hello Alice!', 'Welcome, Bob.'], 'every message after the cursor, his own too')
  t.equal(readState(bob.home, 'sessions', sid, 'cursor').trim(), '2')

  // B leaves: the server confirms, B's local state goes; A sees B gone.
  const left = await bob.run(['leave', sid])
  t.equal(left.code, 0, left.stdout)
  t.match(left.json, { ok: true, sessionId: sid, agentId: 'bob' })
  t.notOk(existsSync(sessionDir(bob.home, sid)), "B's session directory is gone")

  const status = await alice.run(['status', sid])
  t.same(status.json.agents, ['alice'])
  const members = await alice.run(['poll', sid, '--members'])
  t.same(members.json.members.map((m: any) => m.agentId), ['alice'])
})

t.test('state files: directories 0700, files 0600, nothing left behind', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  await bob.run(['poll', sid])
  await bob.run(['alias', sid, 'chat'])
  for (const home of [alice.home, bob.home]) {
    const walk = (dir: string): void => {
      t.equal(modeOf(dir), 0o700, `${dir} is 0700`)
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else {
          t.equal(modeOf(path), 0o600, `${path} is 0600`)
          t.notMatch(entry.name, /\.tmp|\.\d+\.\d+$/, `${entry.name} is no leftover temporary file`)
        }
      }
    }
    walk(stateDir(home))
  }
  t.same(readdirSync(sessionDir(bob.home, sid)).filter((name) => !name.startsWith('.')).sort(), ['agent', 'cursor', 'key', 'last_poll', 'server'])
  t.match(readState(bob.home, 'sessions', sid, 'last_poll').trim(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.same(JSON.parse(readState(bob.home, 'aliases.json')), { chat: sid })
})

t.test('create, status, join, renew', async (t) => {
  const host = agent(t, base)
  const plain = await host.run(['create', '--ttl', '120', '--max-agents', '3'])
  t.equal(plain.code, 0)
  t.match(plain.json, { ttl: 120, maxAgents: 3 })
  t.notOk('sessionKey' in plain.json)
  t.notOk(existsSync(sessionDir(host.home, plain.json.sessionId)), 'no creator: nothing to keep')
  t.match(plain.stderr, 'nexus.sh join')

  const sid: string = plain.json.sessionId
  const status = await host.run(['status', sid])
  t.match(status.json, { sessionId: sid, agents: [], agentCount: 0, maxAgents: 3, creatorAgentId: null })

  const carol = agent(t, base)
  const joined = await carol.run(['join', sid, '--agent-id', 'carol'])
  t.equal(joined.code, 0)
  t.match(joined.json, { status: 'joined', sessionId: sid, agentId: 'carol', agentsOnline: 1 })
  t.equal(readState(carol.home, 'sessions', sid, 'agent'), 'carol\n')
  t.equal(readState(carol.home, 'sessions', sid, 'key'), `${joined.json.sessionKey}\n`)

  const taken = await agent(t, base).run(['join', sid, '--agent-id', 'carol'])
  t.equal(taken.code, 1)
  t.equal(taken.json.error, 'agent_id_taken', "the server's error is printed as it came")

  const renewed = await carol.run(['renew', sid])
  t.equal(renewed.code, 0)
  t.match(renewed.json, { sessionId: sid, ttl: 120, agents: ['carol'] })
  const longer = await carol.run(['renew', sid, '--ttl', '900'])
  t.equal(longer.json.ttl, 900)
  const tooLong = await carol.run(['renew', sid, '--ttl', '99999999'])
  t.equal(tooLong.code, 1)
  t.equal(tooLong.json.error, 'invalid_request')
})

t.test('poll: saved cursor, --after, --after 0, --members', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  for (const text of ['one', 'two', 'three']) await alice.run(['send', sid, text])

  const all = await bob.run(['poll', sid])
  t.same(all.json.messages.map((m: any) => m.cursor), ['0', '1', '2', '3'])
  t.equal(all.json.nextCursor, '3')
  t.equal(readState(bob.home, 'sessions', sid, 'cursor').trim(), '3')

  const none = await bob.run(['poll', sid])
  t.same(none.json.messages, [])
  t.equal(none.json.nextCursor, '3')

  const after = await bob.run(['poll', sid, '--after', '1'])
  t.same(after.json.messages.map((m: any) => m.text), ['two', 'three'])
  const replay = await bob.run(['poll', sid, '--after', '0'])
  t.same(replay.json.messages.map((m: any) => m.cursor), ['0', '1', '2', '3'], '--after 0 replays from the greeting')
  t.equal(readState(bob.home, 'sessions', sid, 'cursor').trim(), '3', '--after leaves the saved cursor alone')

  const withMembers = await bob.run(['--members', 'poll', sid])
  t.same(withMembers.json.members.map((m: any) => m.agentId).sort(), ['alice', 'bob'], 'flags go anywhere on the line')

  const stranger = agent(t, base)
  const notMember = await stranger.run(['poll', sid, '--agent-id', 'mallory'])
  t.equal(notMember.code, 1)
  t.equal(notMember.json.error, 'agent_not_in_session')
  const noAgent = await stranger.run(['poll', sid])
  t.same(noAgent.json, { error: 'missing --agent-id' })
})

t.test('poll --wait: long-poll when the server holds the request', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  await bob.run(['poll', sid])
  const waiting = bob.run(['poll', sid, '--wait', '5'])
  await new Promise((resolve) => setTimeout(resolve, 400))
  await alice.run(['send', sid, 'wake up'])
  const woke = await waiting
  t.equal(woke.code, 0)
  t.same(woke.json.messages.map((m: any) => m.text), ['wake up'])
  t.ok(woke.ms < 4500, `answered when the message came (${woke.ms} ms)`)
})

t.test('leave: what is kept and what is cleaned', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, base)
  await bob.run(['alias', sid, 'work'])
  await alice.run(['alias', sid, 'work'])

  const creator = await alice.run(['leave', 'work'])
  t.equal(creator.code, 1)
  t.equal(creator.json.error, 'forbidden')
  t.ok(existsSync(sessionDir(alice.home, sid)), 'the creator keeps its state')
  t.same(JSON.parse(readState(alice.home, 'aliases.json')), { work: sid })
  t.match(creator.stderr, 'kept the local state')

  const left = await bob.run(['leave', 'work'])
  t.equal(left.code, 0)
  t.notOk(existsSync(sessionDir(bob.home, sid)))
  t.same(JSON.parse(readState(bob.home, 'aliases.json')), {}, 'its aliases go too')

  const again = await bob.run(['leave', sid, '--agent-id', 'bob'])
  t.same(again.json, { error: 'no session key found' })
})

t.test('claim and pair-status: bad codes and links', async (t) => {
  const { alice, sid } = await pairedSession(t, base)
  const carol = agent(t, base)
  const unknown = await carol.run(['claim', 'NOPE-NOPE-22222', '--agent-id', 'carol'])
  t.equal(unknown.code, 1)
  t.equal(unknown.json.error, 'code_expired_or_used', 'a failed claim does not say whether the code ever existed')
  t.notOk(existsSync(join(stateDir(carol.home), 'sessions')), 'nothing saved')

  const malformed = await carol.run(['claim', 'not a code', '--agent-id', 'carol'])
  t.same(malformed.json, { error: 'invalid pairing code: not a code' })
  const noAgent = await carol.run(['claim', 'NOPE-NOPE-22222'])
  t.same(noAgent.json, { error: 'missing --agent-id' })

  // A whole pairing link works too, and names the server (even with no NEXUS_URL at all).
  const link = (await alice.run(['pair', sid])).json.url as string
  const dave = agent(t, undefined)
  const claimed = await dave.run(['claim', link, '--agent-id', 'dave'])
  t.equal(claimed.code, 0, claimed.stdout)
  t.match(claimed.stderr, `server ${base} (pairing link)`)
  t.equal(readState(dave.home, 'sessions', sid, 'server').trim(), base)
  const status = await dave.run(['pair-status', link])
  t.equal(status.json.state, 'claimed')
  const used = await carol.run(['claim', link, '--agent-id', 'carol'])
  t.equal(used.json.error, 'code_expired_or_used')
})

t.test('help, unknown commands and options, the source guard', async (t) => {
  const someone = agent(t, base)
  const help = await someone.run(['help'])
  t.equal(help.code, 0)
  t.equal(help.stdout, '', 'help writes nothing on stdout')
  for (const command of ['create', 'claim', 'poll-daemon', 'poll-all', 'config set-url', 'doctor']) t.match(help.stderr, command)

  const unknown = await someone.run(['frobnicate'])
  t.equal(unknown.code, 1)
  t.same(unknown.json, { error: 'unknown command: frobnicate' })
  const none = await someone.run([])
  t.same(none.json, { error: 'missing command' })
  const option = await someone.run(['status', 'x', '--frob'])
  t.same(option.json, { error: 'unknown option: --frob' })
  const value = await someone.run(['create', '--ttl'])
  t.same(value.json, { error: 'missing value for --ttl' })
  const ttl = await someone.run(['create', '--ttl', 'soon'])
  t.same(ttl.json, { error: 'invalid --ttl: soon' })
  const agentId = await someone.run(['join', 'x', '--agent-id', 'bad id'])
  t.same(agentId.json, { error: 'invalid --agent-id: bad id' })
  const extra = await someone.run(['status', 'a', 'b'])
  t.same(extra.json, { error: 'unexpected argument: b' })

  const sourced = await new Promise<string>((resolve, reject) =>
    execFile('bash', ['-c', 'source scripts/nexus.sh && declare -F cmd_send main http', 'x'], { cwd: root, env: { PATH: process.env.PATH } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout)))
  t.equal(sourced, 'cmd_send\nmain\nhttp\n', 'sourcing defines the functions and runs nothing')
})

t.test('dependencies are checked once, with a clear JSON error', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'nexus-bin-'))
  t.teardown(() => rmSync(bin, { recursive: true, force: true }))
  const home = agent(t, base).home
  const env = { PATH: bin, HOME: home, NEXUS_URL: base }

  symlinkSync(which('curl'), join(bin, 'curl'))
  const noJq = await run(['status', 'x'], { env })
  t.equal(noJq.code, 1)
  t.match(noJq.json, { error: 'missing dependency: jq' })

  rmSync(join(bin, 'curl'))
  symlinkSync(which('jq'), join(bin, 'jq'))
  const noCurl = await run(['status', 'x'], { env })
  t.same(noCurl.json, { error: 'missing dependency: curl' })

  writeFileSync(join(bin, 'curl'), '#!/bin/sh\necho "curl 7.68.0 (x86_64-pc-linux-gnu) libcurl/7.68.0"\n', { mode: 0o755 })
  const old = await run(['status', 'x'], { env })
  t.same(old.json, { error: 'curl 7.76 or newer is needed (found 7.68)' })
})

t.test('XDG_CONFIG_HOME moves the state directory', async (t) => {
  const someone = agent(t, base)
  const xdg = join(someone.home, 'xdg')
  const created = await someone.run(['create', '--creator-agent-id', 'xavier'], { env: { XDG_CONFIG_HOME: xdg } })
  t.equal(created.code, 0)
  t.ok(existsSync(join(xdg, 'messaging', 'sessions', created.json.sessionId, 'key')))
  t.notOk(existsSync(stateDir(someone.home)))
})
