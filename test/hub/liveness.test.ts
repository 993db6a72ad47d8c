import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { agent, hubServer, keepKey, openChat, rawClient } from './helpers.js'

t.test('a socket that stops answering pings is dropped', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_PING_SECONDS: '1' })
  const mute = await rawClient(t, hubUrl, { autoPong: false })
  mute.send({ type: 'connect', agent_id: 'mute' })
  keepKey(hubUrl, await mute.next({ type: 'connected' }))
  const lively = await agent(t, hubUrl, 'lively')
  const closed = await mute.closed
  t.equal(closed.code, 1006, 'terminated, no close handshake')
  lively.send({ type: 'ping' })
  t.match(await lively.next({ type: 'pong' }), {}, 'a socket that answers stays')
  const back = await agent(t, hubUrl, 'mute')
  t.equal(back.connected.resumed, false, 'the hub had let the dead connection go: nothing was taken over')
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
  // Waits for the last message rather than a fixed time: on a loaded machine redelivery can take
  // seconds, and a reader slowed down by that load may be cut off again: it then comes back for more.
  let reached = 0
  for (let round = 1; round <= 5 && reached < Number(last); round++) {
    // With its key: a connection the hub has not yet cut off is taken over.
    const back = await agent(t, hubUrl, 'alice')
    await back.next({ type: 'chat_message', cursor: last }, 30_000).catch(() => undefined)
    const cursors = back.frames.filter((f) => f.type === 'chat_message').map((f) => Number(f.cursor))
    t.ok(cursors.length > 0, `connection ${round}: ${cursors.length} redelivered`)
    if (round > 1) t.ok(cursors[0]! <= reached + 1, `connection ${round} resumes where the last left off, or before`)
    t.same(cursors, [...cursors].sort((a, b) => a - b), `connection ${round}: in order`)
    reached = Math.max(reached, ...cursors)
    await back.close()
  }
  t.equal(reached, Number(last), 'through the last message')
  provider.send({ type: 'ping' })
  t.match(await provider.next({ type: 'pong' }), {}, 'the sender never noticed')
})

t.test('a socket that never says connect is closed after HUB_CONNECT_TIMEOUT_SECONDS, its slot freed', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_CONNECT_TIMEOUT_SECONDS: '1', HUB_MAX_CONNECTIONS: '2' })
  const silent = await rawClient(t, hubUrl)
  const talker = await rawClient(t, hubUrl)
  talker.send({ type: 'connect', agent_id: 'talker' })
  await talker.next({ type: 'connected' })
  silent.send({ type: 'ping' })
  await silent.next({ type: 'pong' })
  t.match(await silent.next({ type: 'error' }), { error_code: 'missing_agent_id', message: /No connect \{agent_id\} within 1 s/ })
  t.same(await silent.closed, { code: 4408, reason: 'no connect within 1 s' }, 'a ping is not a connect')
  // Its slot is free: a third socket gets in under HUB_MAX_CONNECTIONS=2.
  const third = await rawClient(t, hubUrl)
  third.send({ type: 'connect', agent_id: 'third' })
  t.match(await third.next({ type: 'connected' }), { agent_id: 'third' })
  talker.send({ type: 'ping' })
  t.match(await talker.next({ type: 'pong' }), {}, 'a socket that said connect stays')
  t.equal(talker.ws.readyState, 1)
})

t.test('an agent id given on the upgrade counts as connect', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_CONNECT_TIMEOUT_SECONDS: '1' })
  const named = await rawClient(t, `${hubUrl}/?agent_id=named`)
  await named.next({ type: 'connected' })
  t.same(await named.drain({ type: 'error' }, 1500), [], 'no timeout error')
  t.equal(named.ws.readyState, 1, 'still open past the timeout')
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
