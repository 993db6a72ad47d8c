import type { Socket } from 'node:net'
import t from 'tap'
import { build } from '../helpers.js'
import { open, parseReply, portOf, readToClose } from './raw-http.js'

/** A GET /health over a fresh connection from `localAddress`, read to the end. */
async function health(app: Parameters<typeof portOf>[0], localAddress: string) {
  const socket = await open(app, localAddress)
  const reply = readToClose(socket)
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  return parseReply(await reply)
}

// Regression: one address could open connections until the process ran out of file
// descriptors (1,100 half-sent bodies at 1,024), and then /health was unreachable for everyone.
t.test('one address at its cap is refused 503 capacity_exceeded; another is still served', async (t) => {
  const app = await build(t, { MAX_CONNECTIONS_PER_IP: '3' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const held: Socket[] = []
  t.teardown(() => held.forEach((socket) => socket.destroy()))
  // Three idle connections, the last with half its headers: all a slow client needs to hold them.
  for (let i = 0; i < 3; i++) held.push(await open(app, '127.0.0.1'))
  held[2]!.write('GET /health HTTP/1.1\r\nHost: x\r\n')

  const refused = await health(app, '127.0.0.1')
  t.equal(refused.status, 503)
  t.equal(refused.json?.error, 'capacity_exceeded')
  t.match(refused.json?.message, /At most 3 connections per address/)
  t.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After')
  t.ok(refused.headers['x-request-id'], 'X-Request-Id')
  t.equal(refused.headers.connection, 'close')

  const other = await health(app, '127.0.0.2')
  t.equal(other.status, 200, '/health answers another address while this one is at its cap')
  t.equal(other.json?.status, 'ok')

  // A connection closed gives its place back.
  const closed = new Promise((resolve) => held[0]!.once('close', resolve))
  held[0]!.destroy()
  await closed
  let again = await health(app, '127.0.0.1')
  // The server may see the close a moment after the client does.
  for (let i = 0; i < 50 && again.status === 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    again = await health(app, '127.0.0.1')
  }
  t.equal(again.status, 200, 'served again once one of its connections closed')
})

t.test('MAX_CONNECTIONS_PER_IP=0 sets no cap', async (t) => {
  const app = await build(t, { MAX_CONNECTIONS_PER_IP: '0' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const held: Socket[] = []
  t.teardown(() => held.forEach((socket) => socket.destroy()))
  for (let i = 0; i < 20; i++) held.push(await open(app, '127.0.0.1'))
  const reply = await health(app, '127.0.0.1')
  t.equal(reply.status, 200)
})
