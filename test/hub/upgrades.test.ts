import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { WebSocket } from 'ws'
import { hubServer, rawClient } from './helpers.js'

/** Opens a WebSocket to `url` and returns the HTTP answer it got instead of an upgrade. */
async function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: any }> {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage]
  let text = ''
  for await (const chunk of response) text += chunk
  return { status: response.statusCode!, headers: response.headers, body: JSON.parse(text) }
}

t.test('an upgrade anywhere but / and /v1/hub is answered 404 from the catalogue', async (t) => {
  const { base, hubUrl } = await hubServer(t)
  for (const path of ['/v1/sessions', '/health', '/nowhere', '/v1/hub/extra']) {
    const answer = await refused(hubUrl + path)
    t.equal(answer.status, 404, path)
    t.equal(answer.body.error, 'not_found', path)
    t.match(answer.body.message, 'the hub is on / and /v1/hub', path)
    t.match(answer.headers['x-request-id'], /^[0-9a-f]{10}-[0-9a-z]+$/, path)
  }
  const named = await refused(`${hubUrl}/v1/sessions`, { 'x-request-id': 'trace-upgrade-1' })
  t.equal(named.headers['x-request-id'], 'trace-upgrade-1', 'a request id the client gave is echoed, as on HTTP')
  // The server goes on: the hub and plain HTTP both still answer.
  const client = await rawClient(t, `${hubUrl}/v1/hub?agent_id=after-refusals`)
  t.match(await client.next({ type: 'connected' }), { agent_id: 'after-refusals' })
  t.equal((await fetch(`${base}/health`)).status, 200)
})

t.test('a query string does not hide the hub', async (t) => {
  const { hubUrl } = await hubServer(t)
  const client = await rawClient(t, `${hubUrl}/?agent_id=q1&x=y`)
  t.match(await client.next({ type: 'connected' }), { agent_id: 'q1' })
})
