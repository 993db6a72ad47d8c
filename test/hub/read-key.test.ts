import t from 'tap'
import { agent, http, hubServer, openChat } from './helpers.js'

t.test('REQUIRE_KEY_FOR_READS: the hub reads with the keys it holds, and a member without one is refused', async (t) => {
  const { hubUrl, base } = await hubServer(t, { REQUIRE_KEY_FOR_READS: 'true' })
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  provider.send({ type: 'chat_message', channel_id: channelId, content: 'forecast: sun' })
  await provider.next({ type: 'chat_message_ack' })
  t.match(await consumer.next({ type: 'chat_message' }), { content: 'forecast: sun' }, 'delivery reads with the consumer\'s key')
  consumer.send({ type: 'chat_history', request_id: 'h', channel_id: channelId })
  t.match(await consumer.next({ type: 'chat_history_response' }), { request_id: 'h', total: 1 }, 'history too')

  // Joined over HTTP: the hub holds no key for mallory in this channel, so it may not read there.
  const joined = await http(base, 'POST', `/v1/sessions/${channelId}/join`, { 'x-agent-id': 'mallory' })
  t.equal(joined.status, 200)
  const mallory = await agent(t, hubUrl, 'mallory')
  mallory.send({ type: 'chat_history', request_id: 'peek', channel_id: channelId })
  t.match(await mallory.next({ type: 'error' }), { request_id: 'peek', error_code: 'missing_session_key' })

  consumer.send({ type: 'chat_end', channel_id: channelId })
  t.match(await provider.next({ type: 'chat_end' }), { channel_id: channelId }, 'ending reads the head with the key too')
})
