import t from 'tap'
import { hubServer, openChat } from './helpers.js'

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)

t.test('content nested past 32 levels or past 10,000 values gets invalid_request, and nothing is stored', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const frame = (content: string) => `{"type":"chat_message","channel_id":"${channelId}","message_id":"m","content":${content}}`
  for (const [name, content] of [['33 levels', nested(33)], ['3,000 levels', nested(3000)], ['100,000 levels', nested(100_000)], ['10,001 values', `[${Array(10_000).fill('0').join(',')}]`]] as const) {
    consumer.sendRaw(frame(content))
    t.match(await consumer.next({ type: 'error' }), { error_code: 'invalid_request', message: /at most (32 levels|10000 values)/ }, name)
  }
  consumer.sendRaw(frame(nested(32)))
  t.match(await consumer.next({ type: 'chat_message_ack' }), { cursor: '1' }, '32 levels are fine')
  t.match(await provider.next({ type: 'chat_message' }), { cursor: '1', content: JSON.parse(nested(32)) })
})

t.test('chat_history reads the newest messages through the page byte budget', async (t) => {
  const { hubUrl } = await hubServer(t, { MAX_PAGE_BYTES: '2048' })
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  for (let i = 1; i <= 6; i++) {
    consumer.send({ type: 'chat_message', channel_id: channelId, content: `${i}`.repeat(1000) })
    await consumer.next({ type: 'chat_message_ack' })
  }
  provider.send({ type: 'chat_history', request_id: 'h', channel_id: channelId, limit: 4 })
  const reply = await provider.next({ type: 'chat_history_response' })
  t.same(reply.messages.map((m: { cursor: string }) => m.cursor), ['3', '4', '5', '6'], 'the newest four, over two pages')
  t.equal(reply.total, 6)
  t.notOk(reply.truncated)
})
