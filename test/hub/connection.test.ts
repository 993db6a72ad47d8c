import { EventEmitter } from 'node:events'
import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { WebSocket } from 'ws'
import { Connection } from '../../src/hub/connection.js'

/** A socket that only counts: what it was sent, what it holds unread, whether it was cut. */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN
  bufferedAmount = 0
  sent: string[] = []
  terminated = false
  send(text: string, written?: (err?: Error) => void) {
    this.sent.push(text)
    this.bufferedAmount += Buffer.byteLength(text)
    written?.()
  }
  terminate() {
    this.terminated = true
    this.readyState = WebSocket.CLOSED
  }
}

const CAP = 65_536

function connection() {
  const socket = new FakeSocket()
  const slow: Connection[] = []
  const conn = new Connection(socket as unknown as WebSocket, { ip: '127.0.0.1' } as FastifyRequest, { framesPerSecond: 10, maxBufferedBytes: CAP }, (c) => slow.push(c))
  return { socket, conn, slow }
}

t.test('a frame that would take the unread bytes past HUB_MAX_BUFFERED_BYTES cuts the reader off instead of queueing', async (t) => {
  const { socket, conn, slow } = connection()
  socket.bufferedAmount = CAP - 5_000
  let told: Error | undefined
  t.equal(conn.send({ type: 'chat_message', content: 'x'.repeat(10_000) }, (err) => (told = err)), false)
  t.same(socket.sent, [], 'nothing queued')
  t.ok(socket.terminated, 'cut off')
  t.match(told, { message: /too slow/ }, 'the caller is told, so what was not sent waits at its cursor')
  t.equal(slow.length, 1)
})

t.test('one frame larger than the cap on its own is not queued either', async (t) => {
  const { socket, conn } = connection()
  t.equal(conn.send({ type: 'chat_history_response', messages: ['y'.repeat(CAP)] }), false)
  t.same(socket.sent, [])
  t.ok(socket.terminated)
})

t.test('frames that fit are sent, up to the cap exactly', async (t) => {
  const { socket, conn } = connection()
  const frame = { type: 'chat_message', content: 'z'.repeat(1000) }
  const size = Buffer.byteLength(JSON.stringify(frame))
  let sent = 0
  while (conn.send(frame)) sent++
  t.equal(sent, Math.floor(CAP / size))
  t.ok(socket.bufferedAmount <= CAP, `never more than the cap held (${socket.bufferedAmount})`)
})

t.test('whenDrained waits while the socket is congested, and says whether it is still open', async (t) => {
  const { socket, conn } = connection()
  t.equal(await conn.whenDrained(), true, 'at once when not congested')
  socket.bufferedAmount = CAP
  let settled: boolean | undefined
  const waiting = conn.whenDrained().then((open) => (settled = open))
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(settled, undefined, 'still waiting while congested')
  socket.bufferedAmount = CAP / 4
  t.equal(await waiting, true, 'goes on once drained')
  socket.bufferedAmount = CAP
  const closing = conn.whenDrained()
  socket.readyState = WebSocket.CLOSED
  t.equal(await closing, false, 'gives up when the socket closes')
})
