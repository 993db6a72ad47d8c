import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import t, { type Test } from 'tap'

/** Starts the real server process on a free port and waits for its "listening" log line. */
async function startServer(t: Test, env: Record<string, string> = {}): Promise<{ base: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let output = ''
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', () => reject(new Error(`server exited: ${output}`)))
  })
  return { base, child, output: () => output }
}

async function http(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return { status: response.status, headers: response.headers, body: (await response.json()) as any }
}

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

t.test('METRICS_PORT: the process serves the metrics on a port of their own, and closes it on SIGTERM', async (t) => {
  const { createServer } = await import('node:net')
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const metricsPort = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
  const token = 'an-operator-token-0123456789'
  const { base, child, output } = await startServer(t, { METRICS_PORT: String(metricsPort), METRICS_TOKEN: token })
  for (let i = 0; i < 600 && !output().includes('metrics listening'); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await http(base, 'GET', '/metrics')).body.error, 'not_found', 'not on the API port')
  const metricsBase = `http://127.0.0.1:${metricsPort}`
  t.equal((await http(metricsBase, 'GET', '/metrics')).status, 403, 'not without the token')
  await http(base, 'PUT', '/v1/sessions', {}, {})
  const scraped = await fetch(`${metricsBase}/metrics`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(scraped.status, 200)
  t.match(await scraped.text(), /^nexus_sessions_live 1$/m)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'exits 0')
})
