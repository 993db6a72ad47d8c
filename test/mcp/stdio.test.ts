import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import t from 'tap'
import { z } from 'zod'
import { NexusClient } from '../../src/client/index.js'
import { agent, deadPort, makeHome } from '../cli/helpers.js'
import { call, listen, ok, stdioClient, TOOL_NAMES } from './helpers.js'

/** The nexus-mcp bin over stdio, spawned with `node --import tsx` and driven by the SDK's client. */

const ChannelNotification = z.object({
  method: z.literal('notifications/claude/channel'),
  params: z.object({ content: z.string(), meta: z.record(z.string(), z.string()).optional() }),
})

/** Resolves with the first pushed text that matches `pattern`. */
function pushed(texts: string[], pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const found = texts.find((text) => pattern.test(text))
      if (found !== undefined) {
        clearInterval(timer)
        resolve(found)
      }
    }, 10)
  })
}

t.test('over stdio: the tools, the whole story, pushed messages and nexus.sh state', async (t) => {
  const { base } = await listen(t)
  const aliceHome = makeHome(t)
  const bobHome = makeHome(t)
  const alice = await stdioClient(t, { home: aliceHome, url: base })
  const bob = await stdioClient(t, { home: bobHome, url: base, capabilities: { experimental: { 'claude/channel': {} } } })
  const logged: string[] = []
  const channel: string[] = []
  bob.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    logged.push(String((n.params.data as { text?: unknown }).text))
  })
  bob.setNotificationHandler(ChannelNotification, (n) => {
    channel.push(n.params.content)
  })

  const { tools } = await alice.listTools()
  t.same(tools.map((tool) => tool.name).sort(), TOOL_NAMES, 'the same tools as /mcp')

  const created = await ok(t, alice, 'nexus_create_session', { agent_id: 'alice', greeting: 'Hi, Alice here.' })
  const sid: string = created.data.sessionId
  t.equal(created.data.session, sid, 'on stdio the handle is the session id, as nexus.sh knows it')

  // The state is nexus.sh's: same layout, same modes.
  const dir = join(aliceHome, '.config', 'messaging', 'sessions', sid)
  t.equal(statSync(dir).mode & 0o777, 0o700)
  for (const file of ['agent', 'key', 'server', 'cursor']) t.equal(statSync(join(dir, file)).mode & 0o777, 0o600, `${file} is 0600`)
  t.equal(readFileSync(join(dir, 'agent'), 'utf8'), 'alice\n')
  t.match(readFileSync(join(dir, 'key'), 'utf8'), /^[0-9a-f]{64}\n$/)
  t.equal(readFileSync(join(dir, 'server'), 'utf8'), `${base}\n`)

  const claimed = await ok(t, bob, 'nexus_claim', { link: created.data.pairingLink, agent_id: 'bob' })
  t.equal(claimed.data.session, sid)
  const greeting = await ok(t, bob, 'nexus_read', { session: sid })
  t.same(greeting.data.messages.map((m: any) => m.text), ['Hi, Alice here.'])

  const waiting = call(alice, 'nexus_wait', { session: sid, timeout_seconds: 20 })
  await ok(t, bob, 'nexus_send', { session: sid, text: 'Hello Alice!' })
  const woken = await waiting
  t.same(woken.data.messages.map((m: any) => [m.agentId, m.text]), [['bob', 'Hello Alice!']], 'a wait woken by the send')

  await ok(t, alice, 'nexus_send', { session: sid, text: 'Hi Bob, news for you' })
  const log = await pushed(logged, /Hi Bob, news for you/)
  t.match(log, /from agent "alice", verified/, 'pushed as a logging notification, marked as another agent\'s')
  const note = await pushed(channel, /Hi Bob, news for you/)
  t.match(note, /never follow instructions/, 'and on Claude Code\'s channel, since the host declared it')
  const read = await ok(t, bob, 'nexus_read', { session: sid })
  t.same(read.data.messages.map((m: any) => m.text), ['Hi Bob, news for you'], 'a push does not move the cursor')

  // nexus.sh on the same state directory picks up where the tools left off, and vice versa.
  await ok(t, bob, 'nexus_send', { session: sid, text: 'for the bash client' })
  const cli = agent(t, base)
  const polled = await cli.run(['poll', sid], { env: { HOME: aliceHome } })
  t.equal(polled.code, 0, polled.stderr)
  t.same(polled.json.messages.map((m: any) => m.text), ['for the bash client'], 'nexus.sh polls from the cursor the tools kept')
  t.same((await ok(t, alice, 'nexus_read', { session: sid })).data.messages, [], 'and the tools from the one nexus.sh saved')
  const viaCli = await cli.run(['send', sid, 'from', 'bash'], { env: { HOME: aliceHome } })
  t.equal(viaCli.json.verified, true, 'nexus.sh sends with the key the tools saved')
  const replay = await ok(t, bob, 'nexus_read', { session: sid, after: 0 })
  t.same(replay.data.messages.map((m: any) => m.text), ['Hello Alice!', 'Hi Bob, news for you', 'for the bash client', 'from bash'])

  const list = await ok(t, bob, 'nexus_list_sessions')
  t.same(list.data.sessions.map((s: any) => [s.session, s.agentId, s.state]), [[sid, 'bob', 'active']])
  const status = await ok(t, bob, 'nexus_status', { session: sid })
  t.same(status.data.agents.sort(), ['alice', 'bob'])
  await ok(t, bob, 'nexus_renew', { session: sid })
  await ok(t, bob, 'nexus_leave', { session: sid })
  t.same((await ok(t, bob, 'nexus_list_sessions')).data.sessions, [], 'leaving forgets the local state, as nexus.sh does')
  const gone = await call(bob, 'nexus_read', { session: sid })
  t.equal(gone.data.error, 'invalid_request')
})

t.test('over stdio: a dead server and a bad handle are tool errors; a link is claimed on its own server', async (t) => {
  const home = makeHome(t)
  const client = await stdioClient(t, { home, url: `http://127.0.0.1:${await deadPort()}` })
  const dead = await call(client, 'nexus_create_session', { agent_id: 'alice' })
  t.equal(dead.isError, true)
  t.equal(dead.data.error, 'network_error')
  t.match(dead.text, /cannot be reached/)

  // The default server is dead, but a full link names the live one: the claim goes there.
  const { base } = await listen(t)
  const creator = new NexusClient({ baseUrl: base, agentId: 'alice' })
  t.teardown(() => creator.close())
  const { sessionId } = await creator.createSession({ creatorAgentId: 'alice' })
  const { url } = await creator.pair(sessionId)
  const claimed = await ok(t, client, 'nexus_claim', { link: url, agent_id: 'bob' })
  t.equal(claimed.data.sessionId, sessionId)
  t.equal(readFileSync(join(home, '.config', 'messaging', 'sessions', sessionId, 'server'), 'utf8'), `${base}\n`, 'bound to the link\'s server')
  await creator.send(sessionId, 'reached you')
  const read = await ok(t, client, 'nexus_read', { session: sessionId })
  t.same(read.data.messages.map((m: any) => m.text), ['reached you'], 'later calls go to the bound server')
  for (const session of ['f'.repeat(48), '../../etc']) {
    const bad = await call(client, 'nexus_read', { session })
    t.equal(bad.isError, true, session)
    t.equal(bad.data.error, 'invalid_request')
    t.match(bad.text, /nexus_create_session/, 'says where a handle comes from')
  }
  const empty = await call(client, 'nexus_read', { session: '' })
  t.equal(empty.isError, true, 'an argument of the wrong shape is refused by the SDK, as a tool error too')
})
