import t from 'tap'
import { agent, http, hubServer, openChat } from './helpers.js'

t.test('an agent that was offline gets what it missed, in order, once', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  consumer.send({ type: 'chat_message', channel_id: channelId, content: 'before' })
  await provider.next({ type: 'chat_message' })
  await consumer.close()

  for (let i = 1; i <= 5; i++) provider.send({ type: 'chat_message', channel_id: channelId, content: `missed ${i}` })
  for (let i = 1; i <= 5; i++) t.equal((await provider.next({ type: 'chat_message_ack' })).status, 'queued')

  const back = await agent(t, hubUrl, 'alice')
  const got = [await back.next({ type: 'chat_message' })]
  got.push(...(await back.drain({ type: 'chat_message' }, 300)))
  t.same(got.map((m) => m.content), ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5'], 'exactly what was missed, in order')
  t.same(got.map((m) => m.cursor), ['2', '3', '4', '5', '6'])

  provider.send({ type: 'chat_message', channel_id: channelId, content: 'live' })
  t.match(await back.next({ type: 'chat_message' }), { content: 'live', cursor: '7' })
  await back.close()

  const again = await agent(t, hubUrl, 'alice')
  t.same(await again.drain({ type: 'chat_message' }, 300), [], 'nothing is repeated on the next connection')
})

t.test('a connection can say which cursors it holds; the hub resumes from them', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  for (let i = 1; i <= 4; i++) provider.send({ type: 'chat_message', channel_id: channelId, content: `m${i}` })
  for (let i = 1; i <= 4; i++) await consumer.next({ type: 'chat_message' })
  await consumer.close()
  // Say the last two never reached the client (lost in flight when the socket dropped).
  const back = await agent(t, hubUrl, 'alice', { cursors: { [channelId]: '2' } })
  const got = [await back.next({ type: 'chat_message' })]
  got.push(...(await back.drain({ type: 'chat_message' }, 300)))
  t.same(got.map((m) => m.content), ['m3', 'm4'])
})

t.test('an accept for an offline consumer waits for it, before the channel\'s messages', async (t) => {
  const { hubUrl } = await hubServer(t)
  const provider = await agent(t, hubUrl, 'bot')
  provider.send({ type: 'register', service_id: 'jokes' })
  await provider.next({ type: 'registered' })
  const consumer = await agent(t, hubUrl, 'ivy')
  consumer.send({ type: 'chat_request', request_id: 'q', service_id: 'jokes' })
  await provider.next({ type: 'chat_request' })
  await consumer.close()

  provider.send({ type: 'chat_accept', consumer_id: 'ivy' })
  const accepted = await provider.next({ type: 'chat_accept' })
  provider.send({ type: 'chat_message', channel_id: accepted.channel_id, content: 'knock knock' })
  t.equal((await provider.next({ type: 'chat_message_ack' })).status, 'queued')

  const back = await agent(t, hubUrl, 'ivy')
  const first = await back.next()
  const rest = await back.drain(undefined, 300)
  t.same([first, ...rest].map((f) => f.type), ['chat_accept', 'chat_message'], 'accept, then the message')
  t.equal(first.channel_id, accepted.channel_id)
})

t.test('chat_end reaches an offline member after the channel\'s last messages', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  await consumer.close()
  provider.send({ type: 'chat_message', channel_id: channelId, content: 'last words' })
  await provider.next({ type: 'chat_message_ack' })
  provider.send({ type: 'chat_end', channel_id: channelId, reason: 'closing time' })
  t.match(await provider.next({ type: 'chat_end' }), { ended_by: 'weather-bot', reason: 'closing time' })
  // Written after the end over HTTP: it belongs to no hub delivery.
  await http(base, 'POST', `/v1/sessions/${channelId}/messages`, { 'x-agent-id': 'weather-bot' }, { text: 'after the end' })

  const back = await agent(t, hubUrl, 'alice')
  const frames = [await back.next(), ...(await back.drain(undefined, 300))]
  t.same(frames.map((f) => [f.type, f.content ?? f.reason]), [['chat_message', 'last words'], ['chat_end', 'closing time']])
  await back.close()
  const again = await agent(t, hubUrl, 'alice')
  t.same(await again.drain(undefined, 300), [], 'the end is told once')
})
