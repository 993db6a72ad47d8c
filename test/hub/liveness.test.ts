import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { agent, hubServer, openChat, rawClient } from './helpers.js'

/** Tries to take `agentId` without its token until the hub has let the old connection go. */
async function claimWhenFree(t: Parameters<typeof rawClient>[0], hubUrl: string, agentId: string, ms = 10_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const client = await rawClient(t, hubUrl)
    client.send({ type: 'connect', agent_id: agentId })
    const answer = await client.next((f) => f.type === 'connected' || f.type === 'error')
    if (answer.type === 'connected') return client
    await client.close()
    if (Date.now() > deadline) throw new Error(`${agentId} was never freed`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('a socket that stops answering pings is dropped', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_PING_SECONDS: '1' })
  const mute = await rawClient(t, hubUrl, { autoPong: false })
  mute.send({ type: 'connect', agent_id: 'mute' })
  await mute.next({ type: 'connected' })
  const lively = await agent(t, hubUrl, 'lively')
  const closed = await mute.closed
  t.equal(closed.code, 1006, 'terminated, no close handshake')
  lively.send({ type: 'ping' })
  t.match(await lively.next({ type: 'pong' }), {}, 'a socket that answers stays')
  t.ok(await claimWhenFree(t, hubUrl, 'mute', 1000), 'the id is free again')
})

t.test('a reader too slow to keep up is cut off; what it missed waits at its cursor', async (t) => {
  const { app, hubUrl } = await hubServer(t, { HUB_MAX_BUFFERED_BYTES: '65536', HUB_PING_SECONDS: '1' })
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  // The consumer stops reading: the kernel's buffers fill, then the hub's.
  ;(consumer.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  const text = 'y'.repeat(60_000)
  let last = ''
  for (let i = 0; i < 400; i++) {
    const res = await app.inject({ method: 'POST', url: `/v1/sessions/${channelId}/messages`, headers: { 'x-agent-id': 'weather-bot' }, payload: { text: `${i} ${text}` } })
    last = JSON.parse(res.body).cursor
  }
  const back = await claimWhenFree(t, hubUrl, 'alice')
  const frames = await back.drain({ type: 'chat_message' }, 1000)
  t.ok(frames.length > 0, `${frames.length} redelivered`)
  t.equal(frames.at(-1)!.cursor, last, 'through the last message')
  const cursors = frames.map((f) => Number(f.cursor))
  t.same(cursors, [...cursors].sort((a, b) => a - b), 'in order')
  provider.send({ type: 'ping' })
  t.match(await provider.next({ type: 'pong' }), {}, 'the sender never noticed')
})

t.test('the hub holds at most HUB_MAX_CONNECTIONS sockets', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_MAX_CONNECTIONS: '2' })
  await agent(t, hubUrl, 'one')
  await agent(t, hubUrl, 'two')
  const three = await rawClient(t, hubUrl)
  t.match(await three.next({ type: 'error' }), { error_code: 'capacity_exceeded' })
  t.equal((await three.closed).code, 1013)
})

t.test('closing the server says 1001 to every socket', async (t) => {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000' }), { logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const hubUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const { provider, consumer } = await openChat(t, hubUrl)
  await app.close()
  t.same((await provider.closed).code, 1001)
  t.same((await consumer.closed).code, 1001)
})
