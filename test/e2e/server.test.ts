import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { http, startServer } from './process.js'

t.test('two agents pair and talk over real HTTP, then the server stops with grace', async (t) => {
  const { base, child } = await startServer(t)

  const created = await http(base, 'PUT', '/v1/sessions', {}, { creatorAgentId: 'alice', greeting: 'Hi, I am Alice.' })
  t.equal(created.status, 201)
  const { sessionId, sessionKey: aliceKey } = created.body
  const paired = await http(base, 'PUT', '/v1/pair', {}, { sessionId })
  t.equal(paired.body.url, `${base}/p/${paired.body.code}`)

  const page = await fetch(paired.body.url)
  t.equal(page.status, 200, 'the link redirects to the pairing page')
  t.match(await page.text(), `/v1/pair/${paired.body.code}/claim`)

  const claimed = await http(base, 'POST', `/v1/pair/${paired.body.code}/claim`, { 'x-agent-id': 'bob' })
  t.equal(claimed.status, 200)
  const bobKey = claimed.body.sessionKey

  const first = await http(base, 'GET', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'bob' })
  t.equal(first.body.messages[0].text, 'Hi, I am Alice.')
  await http(base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'bob', 'x-session-key': bobKey }, { text: 'Hello Alice, Bob here.' })
  const aliceSees = await http(base, 'GET', `/v1/sessions/${sessionId}/messages?after=0`, { 'x-agent-id': 'alice' })
  t.same(aliceSees.body.messages.map((m: any) => [m.agentId, m.text, m.verified]), [['bob', 'Hello Alice, Bob here.', true]])
  await http(base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'alice', 'x-session-key': aliceKey }, { json: { reply: 'welcome' } })
  const bobSees = await http(base, 'GET', `/v1/sessions/${sessionId}/messages?after=${first.body.nextCursor}`, { 'x-agent-id': 'bob' })
  t.same(bobSees.body.messages.map((m: any) => [m.agentId, m.json ?? m.text]), [['bob', 'Hello Alice, Bob here.'], ['alice', { reply: 'welcome' }]])
  t.ok(bobSees.headers.get('x-request-id'))

  const left = await http(base, 'DELETE', `/v1/sessions/${sessionId}/agents/bob`, { 'x-agent-id': 'bob', 'x-session-key': bobKey })
  t.equal(left.status, 200)
  const status = await http(base, 'GET', `/v1/sessions/${sessionId}`)
  t.same(status.body.agents, ['alice'])

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'exits 0 on SIGTERM')
})

t.test('a bad configuration stops the start with one clear line', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: 'not-a-port' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(stderr, /^nexus: PORT="not-a-port" is not valid/)
})

t.test('logs carry the request id and never a session key or a message body', async (t) => {
  const { base, child, output } = await startServer(t)
  const created = await http(base, 'PUT', '/v1/sessions', { 'x-request-id': 'trace-me-1' }, { creatorAgentId: 'alice' })
  const key = created.body.sessionKey
  await http(base, 'POST', `/v1/sessions/${created.body.sessionId}/messages`, { 'x-agent-id': 'alice', 'x-session-key': key }, { text: 'a-very-private-body' })
  child.kill('SIGTERM')
  await once(child, 'exit')
  t.match(output(), '"reqId":"trace-me-1"')
  t.notMatch(output(), key)
  t.notMatch(output(), 'a-very-private-body')
})
