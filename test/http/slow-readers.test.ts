import type { ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { build, send, twoAgents } from '../helpers.js'

/**
 * A client that asks and then does not read: the server must cut it rather than hold what it has
 * not taken. The backlog (16 MB) is more than loopback's socket buffers take at once.
 */
const MESSAGE = 1024 * 1024
const COUNT = 16
const env = {
  SLOW_READER_SECONDS: '1',
  MAX_MESSAGE_BYTES: String(MESSAGE),
  MAX_PAGE_BYTES: String(2 * COUNT * MESSAGE),
  MAX_SESSION_BYTES: String(2 * COUNT * MESSAGE),
}

async function backlog(t: Test) {
  const app = await build(t, env)
  const { sessionId } = await twoAgents(app)
  for (let i = 0; i < COUNT; i++) t.equal((await send(app, sessionId, 'host', { text: 'x'.repeat(MESSAGE - 16) })).status, 201)
  await app.listen({ host: '127.0.0.1', port: 0 })
  // The server's side of the next request: its 'close' comes when the server cuts the client.
  const responded = new Promise<ServerResponse>((resolve) => app.server.once('request', (_request, response) => resolve(response)))
  return { sessionId, port: (app.server.address() as AddressInfo).port, responded }
}

/**
 * Asks, reads nothing until the server has closed its side, then reads what had reached the
 * socket: less than everything, since the server cut it.
 */
async function readAfterCut(t: Test, port: number, path: string, responded: Promise<ServerResponse>): Promise<number> {
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.pause()
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Agent-Id: guest\r\n\r\n`)
  const response = await responded
  await new Promise((resolve) => response.once('close', resolve))
  let received = 0
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length
  })
  socket.on('error', () => {})
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.resume()
  await closed
  return received
}

t.test('a poll whose client does not read its page is cut after SLOW_READER_SECONDS', async (t) => {
  const { sessionId, port, responded } = await backlog(t)
  const received = await readAfterCut(t, port, `/v1/sessions/${sessionId}/messages`, responded)
  t.ok(received < COUNT * MESSAGE, `${received} of ${COUNT * MESSAGE}+ bytes reached the client before the cut`)
})

t.test('an event stream whose client does not read is cut rather than waiting forever', async (t) => {
  const { sessionId, port, responded } = await backlog(t)
  const received = await readAfterCut(t, port, `/v1/sessions/${sessionId}/events`, responded)
  t.ok(received < COUNT * MESSAGE, `${received} bytes reached the client before the cut`)
})
