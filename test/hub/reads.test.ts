import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { MemoryStore } from '../../src/store/memory.js'
import type { ReadRequest } from '../../src/store/store.js'
import { openChat } from './helpers.js'

/**
 * A hub message costs one store read per receiving connection: the sender's own pump passes
 * over the sender's message without reading it back (src/hub/delivery.ts, passOwn).
 */
class CountingStore extends MemoryStore {
  readsBy = new Map<string, number>()

  override read(sessionId: string, request: ReadRequest, now: number) {
    this.readsBy.set(request.agentId, (this.readsBy.get(request.agentId) ?? 0) + 1)
    return super.read(sessionId, request, now)
  }
}

t.test('the sender\'s pump does not read its own messages back; the receiver gets each once, in order', async (t) => {
  const store = new CountingStore({ maxSessions: 100, maxMessagesPerSession: 1000 })
  const app = await buildApp(loadConfig({ RATE_LIMIT_MAX: '1000000' }), { logger: false, store })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  const hubUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const count = 20
  // One at a time, each acknowledged before the next: every pump is idle when a message lands.
  for (let i = 1; i <= count; i++) {
    provider.send({ type: 'chat_message', channel_id: channelId, content: `m${i}` })
    await provider.next({ type: 'chat_message_ack' })
    await consumer.next({ type: 'chat_message', content: `m${i}` })
  }
  const before = { provider: store.readsBy.get('weather-bot') ?? 0, consumer: store.readsBy.get('alice') ?? 0 }
  for (let i = count + 1; i <= 2 * count; i++) {
    provider.send({ type: 'chat_message', channel_id: channelId, content: `m${i}` })
    await provider.next({ type: 'chat_message_ack' })
    await consumer.next({ type: 'chat_message', content: `m${i}` })
  }
  t.equal((store.readsBy.get('weather-bot') ?? 0) - before.provider, 0, 'no reads by the sender\'s own pump')
  t.ok((store.readsBy.get('alice') ?? 0) - before.consumer >= count, 'the receiver\'s pump reads')
  t.same(await provider.drain({ type: 'chat_message' }), [], 'the sender is not sent its own messages')

  // The consumer answers: the provider's pump, having passed over its own messages, reads from there.
  consumer.send({ type: 'chat_message', channel_id: channelId, content: 'reply' })
  t.match(await provider.next({ type: 'chat_message' }), { content: 'reply', cursor: String(2 * count + 1) })
})
