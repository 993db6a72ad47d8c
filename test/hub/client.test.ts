import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ChatClient, ChatHubError, type ChatMessage, type HubEvent, quickSend } from '../../src/client/index.js'
import { agent, hubServer, tcpProxy, until } from './helpers.js'

const fastBackoff = { initialDelayMs: 20, maxDelayMs: 100 }

// Agent keys are kept in files under the config directory: a fresh one for this file's clients.
const configHome = mkdtempSync(join(tmpdir(), 'nexus-client-'))
process.env.XDG_CONFIG_HOME = configHome
t.teardown(() => rmSync(configHome, { recursive: true, force: true }))

function client(t: Parameters<typeof hubServer>[0], hubUrl: string, agentId: string, options: Partial<ConstructorParameters<typeof ChatClient>[0]> = {}) {
  const c = new ChatClient({ hubUrl, agentId, backoff: fastBackoff, ...options })
  t.teardown(() => c.disconnect())
  return c
}

t.test('ChatClient: provider and consumer, end to end', async (t) => {
  const { hubUrl } = await hubServer(t)
  const provider = client(t, hubUrl, 'weather-bot')
  await provider.connect()
  t.ok(provider.connected)
  t.match(provider.apiKey, /^[0-9a-f]{64}$/, 'the agent key handed out on first connect is kept')
  await provider.register('weather', { name: 'Weather', description: 'forecasts' })

  // The provider answers every request and every message, with async callbacks.
  const seen: string[] = []
  provider.listenForMessages(async (event) => {
    seen.push(event.type)
    if (event.type === 'chat_request') {
      if (event.message === 'no thanks') await provider.rejectChat(event.consumerId, 'Not today')
      else await provider.acceptChat(event.consumerId)
    } else if (event.type === 'chat_message') {
      await provider.sendMessage(event.senderId, `forecast for ${event.content}: sunny`, { channelId: event.channelId })
    }
  })

  const consumer = client(t, `${hubUrl}/v1/hub`, 'alice')
  await consumer.connect()
  const refused = await consumer.requestChat('weather', { message: 'no thanks' })
  t.match(refused, { status: 'rejected', reason: 'Not today' })
  const result = await consumer.requestChat('weather', { message: 'hi' })
  t.match(result, { status: 'accepted', channelId: /^[0-9a-f]{48}$/, providerId: 'weather-bot', serviceId: 'weather' })
  if (result.status !== 'accepted') return

  const ack = await consumer.sendMessage('weather-bot', 'Paris', { serviceId: 'weather' })
  t.match(ack, { channelId: result.channelId, cursor: '1', status: 'delivered', verified: true, id: /^msg_/ })

  const stream = consumer.messages()
  const events: HubEvent[] = []
  for await (const event of stream) {
    events.push(event)
    if (event.type === 'chat_message') break
  }
  const reply = events.find((e): e is ChatMessage => e.type === 'chat_message')!
  t.match(reply, { senderId: 'weather-bot', content: 'forecast for Paris: sunny', cursor: '2', channelId: result.channelId, serviceId: 'weather' })
  t.same(events.filter((e) => e.type === 'chat_accept' || e.type === 'chat_reject').map((e) => e.type), ['chat_reject', 'chat_accept'], 'events that came before the loop were kept for it')

  const history = await consumer.getHistory({ serviceId: 'weather', limit: 10 })
  t.same(history.messages.map((m) => m.content), ['Paris', 'forecast for Paris: sunny'])
  t.equal(history.total, 2)
  const providerHistory = await provider.getHistory({ serviceId: 'weather', targetAgent: 'alice' })
  t.equal(providerHistory.channelId, result.channelId)

  const ended = await consumer.endChat(result.channelId, 'bye')
  t.same(ended, { type: 'chat_end', channelId: result.channelId, endedBy: 'alice', reason: 'bye' })
  await until(() => seen.includes('chat_end'))
  const late = consumer.sendMessage(null, 'again?', { channelId: result.channelId })
  await t.rejects(late, { name: 'ChatHubError', code: 'channel_ended' })
  await t.rejects(consumer.requestChat('nothing-here'), { code: 'service_not_found' })
  await t.rejects(consumer.getHistory({ channelId: result.channelId, limit: 0 }), { code: 'invalid_request' })
})

t.test('requestChat times out when the provider never answers', async (t) => {
  const { hubUrl } = await hubServer(t)
  const provider = client(t, hubUrl, 'silent')
  await provider.connect()
  await provider.register('void')
  const consumer = client(t, hubUrl, 'hopeful')
  await consumer.connect()
  const started = Date.now()
  const result = await consumer.requestChat('void', { timeoutMs: 300 })
  t.match(result, { status: 'timeout', requestId: String })
  t.ok(Date.now() - started >= 290, 'not before its time')
  t.ok(Date.now() - started < 5000, 'nor long after')
  await t.rejects(consumer.acceptChat('nobody', { timeoutMs: 2000 }), { code: 'invalid_request' }, 'an accept with nothing to accept fails fast')
})

t.test('callbacks are awaited in order, sync or async', async (t) => {
  const { hubUrl } = await hubServer(t)
  const listener = client(t, hubUrl, 'listener')
  await listener.connect()
  const order: string[] = []
  let busy = false
  let overlapped = false
  listener.listenForMessages(async (event) => {
    if (event.type !== 'chat_message') return
    if (busy) overlapped = true
    busy = true
    await new Promise((resolve) => setTimeout(resolve, Number(event.cursor) % 2 === 0 ? 30 : 1))
    order.push(`async ${event.content}`)
    busy = false
  })
  listener.listenForMessages((event) => {
    if (event.type === 'chat_message') order.push(`sync ${event.content}`)
  })
  for (let i = 1; i <= 5; i++) await quickSend(hubUrl, 'talker', 'listener', `m${i}`)
  await until(() => order.length === 10)
  t.same(order, [1, 2, 3, 4, 5].flatMap((i) => [`async m${i}`, `sync m${i}`]))
  t.notOk(overlapped, 'one event at a time')
})

t.test('quickSend, and messages() ends on disconnect', async (t) => {
  const { hubUrl } = await hubServer(t)
  const ack = await quickSend(hubUrl, 'pigeon', 'nobody-yet', 'coo')
  t.match(ack, { status: 'queued', cursor: '1' })
  const receiver = client(t, hubUrl, 'nobody-yet')
  await receiver.connect()
  const got: HubEvent[] = []
  const loop = (async () => {
    for await (const event of receiver.messages()) got.push(event)
    return 'ended'
  })()
  await until(() => got.length === 1)
  t.match(got[0], { type: 'chat_message', senderId: 'pigeon', content: 'coo' })
  await receiver.disconnect()
  t.equal(await loop, 'ended')
  t.notOk(receiver.connected)
  await t.rejects(receiver.sendMessage('pigeon', 'hi'), { code: 'not_connected' })
  t.ok(new ChatHubError('x', 'y') instanceof Error)
  const after = receiver.messages()
  t.same(await after.next(), { value: undefined, done: true }, 'a loop started after disconnect ends at once')
})

t.test('a connection taken over with the agent key ends the old client for good', async (t) => {
  const { hubUrl } = await hubServer(t)
  const first = client(t, hubUrl, 'twin')
  await first.connect()
  const loop = (async () => {
    for await (const _ of first.messages()) {
      // nothing comes
    }
    return 'ended'
  })()
  const second = await agent(t, hubUrl, 'twin', { api_key: first.apiKey })
  t.equal(second.connected.resumed, true)
  t.equal(await loop, 'ended')
  t.notOk(first.connected)
})

t.test('ChatClient reconnects by itself and resumes: nothing lost, nothing repeated', async (t) => {
  const { hubUrl, port } = await hubServer(t, { HUB_FRAMES_PER_SECOND: '10000' })
  const proxy = await tcpProxy(t, port)
  const provider = await agent(t, hubUrl, 'firehose')
  const consumer = client(t, proxy.url, 'sipper', { heartbeatMs: 500 })
  await consumer.connect()
  const received: ChatMessage[] = []
  consumer.listenForMessages((event) => {
    if (event.type === 'chat_message') received.push(event)
  })

  // The provider writes in bursts, and the network drops the consumer right after each, with
  // messages in flight: some reached the kernel on the hub's side but never the client.
  const total = 150
  const acks: Promise<unknown>[] = []
  provider.send({ type: 'chat_message', target_agent: 'sipper', content: 'n0' })
  const channelId: string = (await provider.next({ type: 'chat_message_ack' })).channel_id
  for (let i = 1; i < total; i++) {
    provider.send({ type: 'chat_message', target_agent: 'sipper', content: `n${i}` })
    if (i % 30 === 0) {
      await provider.next({ type: 'chat_message_ack', cursor: String(i + 1) })
      proxy.cut()
      await new Promise((resolve) => setTimeout(resolve, 30))
    }
  }
  // The consumer writes too, through the drops.
  const sent: string[] = []
  for (let i = 0; i < 20; i++) {
    if (i === 10) proxy.cut()
    acks.push(consumer.sendMessage(null, `back ${i}`, { channelId }))
    sent.push(`back ${i}`)
  }
  await Promise.all(acks)
  t.equal(provider.frames.filter((f) => f.type === 'error').length, 0, 'the provider\'s sends were all taken')
  await until(() => received.length >= total, 15_000)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(proxy.connections >= 4, `${proxy.connections} connections`)
  t.same(received.map((m) => m.content), Array.from({ length: total }, (_, i) => `n${i}`), 'every message, once, in order')

  const back: string[] = []
  for (;;) {
    const frame = await provider.next({ type: 'chat_message' }, 5000)
    back.push(frame.content)
    if (back.length === sent.length) break
  }
  t.same([...back].sort(), [...sent].sort(), 'every send stored once')
  t.same(await provider.drain({ type: 'chat_message' }, 200), [], 'no send stored twice')
})

t.test('the agent key is kept in a 0600 file per hub and agent id, so a restarted program keeps its identity', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { mkdtempSync, readFileSync, statSync } = await import('node:fs')
  const keyDir = mkdtempSync(join(tmpdir(), 'nexus-keys-'))
  t.teardown(() => rmSync(keyDir, { recursive: true, force: true }))
  const first = client(t, hubUrl, 'keeper', { keyDir })
  await first.connect()
  const key = first.apiKey!
  const file = join(keyDir, `ws_127.0.0.1_${new URL(hubUrl).port}`, 'keeper')
  t.equal(readFileSync(file, 'utf8'), `${key}\n`)
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file is 0600')
  await first.disconnect()

  const restarted = client(t, `${hubUrl}/v1/hub`, 'keeper', { keyDir })
  t.equal(restarted.apiKey, key, 'read back, for either path of the hub')
  await restarted.connect()
  await restarted.disconnect()

  const forgetful = client(t, hubUrl, 'keeper', { keyDir: false })
  await t.rejects(forgetful.connect(), { code: 'invalid_api_key' }, 'without the key the id is refused')
  const wrong = client(t, hubUrl, 'keeper', { keyDir: false, apiKey: 'not-the-key' })
  await t.rejects(wrong.connect(), { code: 'invalid_api_key' })
  t.notOk(wrong.connected)
  const given = client(t, hubUrl, 'keeper', { keyDir: false, apiKey: key })
  await given.connect()
  t.ok(given.connected, 'a key passed in works as well')

  t.match(await quickSend(hubUrl, 'keeper', 'someone', 'hi', { keyDir }), { status: 'queued' }, 'quickSend keeps it the same way')
})
