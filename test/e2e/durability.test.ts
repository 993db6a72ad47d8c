import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { dataDir, failedStart, http, startServer } from './process.js'

// Each test starts the real server two to four times; on a loaded machine a start takes seconds.
t.setTimeout(300_000)

/**
 * The promise of the default store: a 2xx means the write is in the file. The real server is
 * killed with SIGKILL while sends are in flight, started again on the same directory, and every
 * acknowledged message must be there, at its cursor, with its content.
 */
t.test('nothing acknowledged is lost when the server is killed with SIGKILL mid-send', async (t) => {
  const dir = dataDir(t)
  const env = { DATA_DIR: dir, RATE_LIMIT_MAX: '1000000' }
  const first = await startServer(t, env)

  const created = await http(first.base, 'PUT', '/v1/sessions', {}, { creatorAgentId: 'alice', greeting: 'before the crash' })
  t.equal(created.status, 201)
  const { sessionId, sessionKey: aliceKey } = created.body
  const joined = await http(first.base, 'POST', `/v1/sessions/${sessionId}/join`, { 'x-agent-id': 'bob' })
  t.equal(joined.status, 200)
  const bobKey: string = joined.body.sessionKey
  const paired = await http(first.base, 'PUT', '/v1/pair', {}, { sessionId })
  t.equal(paired.status, 201)

  // Four senders in a loop until the process dies under them; only 2xx answers are counted.
  const acknowledged = new Map<string, string>()
  let stop = false
  const sender = async (agentId: string, key: string, lane: number) => {
    for (let i = 0; !stop; i++) {
      const text = `${agentId}-${lane}-${i}`
      try {
        const sent = await http(first.base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': agentId, 'x-session-key': key }, { text })
        if (sent.status === 201 || sent.status === 200) acknowledged.set(String(sent.body.cursor), text)
      } catch {
        return // the connection died with the process: this send was never acknowledged
      }
    }
  }
  const senders = [sender('alice', aliceKey, 0), sender('alice', aliceKey, 1), sender('bob', bobKey, 2), sender('bob', bobKey, 3)]
  while (acknowledged.size < 300) await new Promise((resolve) => setTimeout(resolve, 10))
  first.child.kill('SIGKILL')
  await once(first.child, 'exit')
  stop = true
  await Promise.all(senders)
  t.ok(acknowledged.size >= 300, `${acknowledged.size} sends acknowledged before the kill`)

  const second = await startServer(t, env)
  const found = new Map<string, string>()
  const cursors: number[] = []
  let after = '-1'
  for (;;) {
    const page = await http(second.base, 'GET', `/v1/sessions/${sessionId}/messages${after === '-1' ? '' : `?after=${after}`}`, { 'x-agent-id': 'alice' })
    t.equal(page.status, 200)
    for (const message of page.body.messages) {
      found.set(message.cursor, message.text)
      cursors.push(Number(message.cursor))
    }
    after = page.body.nextCursor
    if (!page.body.hasMore) break
  }
  t.equal(found.get('0'), 'before the crash', 'the greeting is at cursor 0')
  const missing = [...acknowledged].filter(([cursor, text]) => found.get(cursor) !== text)
  t.same(missing, [], 'every acknowledged message is at its cursor with its content')
  t.same(cursors, cursors.map((_, i) => i), 'cursors run from 0 with no gap')

  const next = await http(second.base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'bob', 'x-session-key': bobKey }, { text: 'after the restart' })
  t.equal(next.status, 201, "bob's key still holds")
  t.equal(Number(next.body.cursor), cursors.length, 'the next cursor follows the last one kept, none reused')
  const wrongKey = await http(second.base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'bob', 'x-session-key': aliceKey }, { text: 'x' })
  t.equal(wrongKey.status, 403, 'keys are still told apart')
  const claimed = await http(second.base, 'POST', `/v1/pair/${paired.body.code}/claim`, { 'x-agent-id': 'carol' })
  t.equal(claimed.status, 200, 'the pairing code made before the crash still pairs')
  const stats = await http(second.base, 'GET', '/v1/stats')
  t.ok(stats.body.totalMessages >= acknowledged.size + 2, 'totalMessages survived the restart')
  t.equal(stats.body.activeSessions, 1)
  t.equal(stats.body.totalAgents, 3)
})

t.test('a store that cannot be used stops the start with one line naming the problem', async (t) => {
  const dir = dataDir(t)
  const running = await startServer(t, { DATA_DIR: dir })
  const second = await failedStart({ DATA_DIR: dir })
  t.equal(second.code, 1, 'a second server on the same directory refuses to start')
  t.match(second.stderr, new RegExp(`^nexus: \\S+nexus\\.db is in use by another Nexus server \\(pid ${running.child.pid}, started [^)]+\\); [^\\n]+\\n$`))
  t.equal((await http(running.base, 'GET', '/health')).status, 200, 'and the first goes on')

  const notes = dataDir(t)
  writeFileSync(join(notes, 'nexus.db'), 'not a database at all\n'.repeat(200))
  const file = join(dataDir(t), 'a-file')
  writeFileSync(file, '')
  // Started together: each start pays for compiling the server, slow on a loaded machine.
  const [foreign, blocked] = await Promise.all([failedStart({ DATA_DIR: notes }), failedStart({ DATA_DIR: join(file, 'data') })])
  t.equal(foreign.code, 1)
  t.match(foreign.stderr, /^nexus: \S+nexus\.db is not a Nexus store \(not a SQLite database\); [^\n]+\n$/)
  t.equal(blocked.code, 1)
  t.match(blocked.stderr, /^nexus: DATA_DIR="[^"]+" cannot be created: [^\n]+\n$/)
})
