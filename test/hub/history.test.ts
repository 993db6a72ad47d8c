import t from 'tap'
import { agent, http, hubServer, openChat } from './helpers.js'

t.test('history limits: 1..1000, default 50, refused otherwise', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  for (let i = 1; i <= 60; i++) provider.send({ type: 'chat_message', channel_id: channelId, content: `n${i}` })
  for (let i = 1; i <= 60; i++) await provider.next({ type: 'chat_message_ack' })

  consumer.send({ type: 'chat_history', request_id: 'default', channel_id: channelId })
  const byDefault = await consumer.next({ type: 'chat_history_response' })
  t.equal(byDefault.messages.length, 50)
  t.equal(byDefault.messages[0].content, 'n11')
  t.equal(byDefault.messages.at(-1).content, 'n60')
  t.equal(byDefault.total, 60)

  consumer.send({ type: 'chat_history', request_id: 'one', channel_id: channelId, limit: 1 })
  t.same((await consumer.next({ type: 'chat_history_response' })).messages.map((m: any) => m.content), ['n60'])
  consumer.send({ type: 'chat_history', request_id: 'all', channel_id: channelId, limit: 1000 })
  t.equal((await consumer.next({ type: 'chat_history_response' })).messages.length, 60)

  for (const limit of [0, -1, 1001, 2.5, '10', null]) {
    consumer.send({ type: 'chat_history', request_id: 'bad', channel_id: channelId, limit })
    t.match(await consumer.next({ type: 'error' }), { error_code: 'invalid_request', request_id: 'bad', details: [{ path: 'limit' }] }, `limit ${JSON.stringify(limit)}`)
  }
})

t.test('history of an empty channel, and by service', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  consumer.send({ type: 'chat_history', request_id: 'e', service_id: 'weather' })
  t.same(await consumer.next({ type: 'chat_history_response' }), { type: 'chat_history_response', request_id: 'e', channel_id: channelId, messages: [], total: 0 })
  provider.send({ type: 'chat_history', request_id: 'p', service_id: 'weather' })
  t.match(await provider.next({ type: 'error' }), { error_code: 'invalid_request', request_id: 'p', details: [{ path: 'target_agent' }] }, 'a provider names the consumer')
  provider.send({ type: 'chat_history', request_id: 'p2', service_id: 'weather', target_agent: 'alice' })
  t.match(await provider.next({ type: 'chat_history_response' }), { channel_id: channelId })
})

t.test('history is for members only', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const { channelId } = await openChat(t, hubUrl)
  const stranger = await agent(t, hubUrl, 'mallory')
  stranger.send({ type: 'chat_history', request_id: 'peek', channel_id: channelId })
  t.match(await stranger.next({ type: 'error' }), { request_id: 'peek', error_code: 'agent_not_in_session' })
  stranger.send({ type: 'chat_history', request_id: 'peek2', service_id: 'weather' })
  t.match(await stranger.next({ type: 'error' }), { request_id: 'peek2', error_code: 'session_not_found' }, 'mallory has no chat with the service')
  stranger.send({ type: 'chat_message', channel_id: channelId, content: 'let me in' })
  t.match(await stranger.next({ type: 'error' }), { error_code: 'forbidden' }, 'nor may it write')
  stranger.send({ type: 'chat_end', channel_id: channelId })
  t.match(await stranger.next({ type: 'error' }), { error_code: 'agent_not_in_session', channel_id: channelId }, 'nor end it')
  stranger.send({ type: 'chat_history', request_id: 'nowhere', channel_id: 'not-a-channel' })
  t.match(await stranger.next({ type: 'error' }), { error_code: 'session_not_found' })

  // A member that joined over HTTP may read the history over the hub.
  const joined = await http(base, 'POST', `/v1/sessions/${channelId}/join`, { 'x-agent-id': 'mallory' })
  t.equal(joined.status, 200)
  stranger.send({ type: 'chat_history', request_id: 'now', channel_id: channelId })
  t.match(await stranger.next({ type: 'chat_history_response' }), { request_id: 'now', total: 0 })
})

t.test('a history reply is at most half of HUB_MAX_BUFFERED_BYTES on the wire', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_MAX_BUFFERED_BYTES: '65536' })
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  for (let i = 0; i < 30; i++) {
    provider.send({ type: 'chat_message', channel_id: channelId, content: `${i} ${'h'.repeat(4000)}`, message_id: `b${i}` })
    await provider.next({ type: 'chat_message_ack', message_id: `b${i}` })
  }
  consumer.send({ type: 'chat_history', request_id: 'big', channel_id: channelId, limit: 30 })
  const reply = await consumer.next({ type: 'chat_history_response' })
  const bytes = Buffer.byteLength(JSON.stringify(reply))
  t.ok(bytes <= 65536 / 2, `${bytes} bytes`)
  t.equal(reply.truncated, true)
  t.ok(reply.messages.length >= 5, `${reply.messages.length} messages, the newest`)
  t.equal(reply.messages.at(-1).cursor, '30')
})
