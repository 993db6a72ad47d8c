import t from 'tap'
import { makeFakes } from '../core/redact/fakes.js'
import { agent, http, hubServer, openChat } from './helpers.js'

t.test('provider and consumer: request, accept, messages both ways, history, end', async (t) => {
  const { hubUrl } = await hubServer(t)
  const provider = await agent(t, hubUrl, 'weather-bot')
  t.match(provider.connected, { type: 'connected', agent_id: 'weather-bot', client_id: String, agent_key: /^[0-9a-f]{64}$/, resumed: false })
  provider.send({ type: 'register', service_id: 'weather', name: 'Weather', description: 'forecasts' })
  t.same(await provider.next({ type: 'registered' }), { type: 'registered', service_id: 'weather' })

  const consumer = await agent(t, hubUrl, 'alice')
  consumer.send({ type: 'chat_request', request_id: 'req-1', service_id: 'weather', message: 'forecast for Paris?' })
  const request = await provider.next({ type: 'chat_request' })
  t.same(request, { type: 'chat_request', request_id: 'req-1', consumer_id: 'alice', service_id: 'weather', message: 'forecast for Paris?' })

  provider.send({ type: 'chat_accept', consumer_id: 'alice', request_id: 'req-1' })
  const accepted = await consumer.next({ type: 'chat_accept' })
  t.match(accepted, { request_id: 'req-1', channel_id: /^[0-9a-f]{48}$/, provider_id: 'weather-bot', consumer_id: 'alice', service_id: 'weather' })
  t.same(await provider.next({ type: 'chat_accept' }), accepted, 'both sides get the same accept')
  const channelId = accepted.channel_id

  consumer.send({ type: 'chat_message', channel_id: channelId, content: 'Paris, tomorrow?', message_id: 'm1' })
  const toProvider = await provider.next({ type: 'chat_message' })
  t.match(toProvider, { channel_id: channelId, service_id: 'weather', sender_id: 'alice', content: 'Paris, tomorrow?', cursor: '1', message_id: /^msg_/, verified: true })
  t.ok(!Number.isNaN(Date.parse(toProvider.timestamp)))
  t.match(await consumer.next({ type: 'chat_message_ack' }), { message_id: 'm1', channel_id: channelId, cursor: '1', status: 'delivered' })

  provider.send({ type: 'chat_message', service_id: 'weather', target_agent: 'alice', content: 'Sunny, 24°C.' })
  t.match(await consumer.next({ type: 'chat_message' }), { sender_id: 'weather-bot', content: 'Sunny, 24°C.', cursor: '2' })
  t.match(await provider.next({ type: 'chat_message_ack' }), { channel_id: channelId, cursor: '2', status: 'delivered' })

  consumer.send({ type: 'chat_message', service_id: 'weather', content: { city: 'Paris', days: 3 } })
  t.match(await provider.next({ type: 'chat_message' }), { cursor: '3', content: { city: 'Paris', days: 3 } })
  await consumer.next({ type: 'chat_message_ack' })

  consumer.send({ type: 'chat_history', request_id: 'h1', service_id: 'weather', limit: 2 })
  const history = await consumer.next({ type: 'chat_history_response' })
  t.equal(history.request_id, 'h1')
  t.equal(history.channel_id, channelId)
  t.equal(history.total, 3)
  t.same(history.messages.map((m: any) => m.cursor), ['2', '3'], 'the last `limit`, oldest first')
  provider.send({ type: 'chat_history', request_id: 'h2', channel_id: channelId })
  t.same((await provider.next({ type: 'chat_history_response' })).messages.map((m: any) => m.content), ['Paris, tomorrow?', 'Sunny, 24°C.', { city: 'Paris', days: 3 }])

  consumer.send({ type: 'chat_end', channel_id: channelId, reason: 'thanks!' })
  const ended = { type: 'chat_end', channel_id: channelId, ended_by: 'alice', reason: 'thanks!' }
  t.same(await consumer.next({ type: 'chat_end' }), ended)
  t.same(await provider.next({ type: 'chat_end' }), ended)

  provider.send({ type: 'chat_message', channel_id: channelId, content: 'still there?', message_id: 'late' })
  t.match(await provider.next({ type: 'error' }), { error_code: 'channel_ended', request_id: 'late', frame: 'chat_message' })
  consumer.send({ type: 'chat_end', channel_id: channelId })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'channel_ended' })
  consumer.send({ type: 'chat_message', service_id: 'weather', content: 'hello?' })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'session_not_found', frame: 'chat_message' }, 'no open channel with the service any more')
})

t.test('reject with a reason, and the default reason', async (t) => {
  const { hubUrl } = await hubServer(t)
  const provider = await agent(t, hubUrl, 'translator')
  provider.send({ type: 'register', service_id: 'translate' })
  await provider.next({ type: 'registered' })
  const consumer = await agent(t, hubUrl, 'bob')

  consumer.send({ type: 'chat_request', request_id: 'a', service_id: 'translate' })
  t.match(await provider.next({ type: 'chat_request' }), { request_id: 'a', consumer_id: 'bob', message: '' })
  provider.send({ type: 'chat_reject', consumer_id: 'bob', request_id: 'a', reason: 'Only French today' })
  t.match(await consumer.next({ type: 'chat_reject' }), { request_id: 'a', service_id: 'translate', reason: 'Only French today' })

  consumer.send({ type: 'chat_request', request_id: 'b', service_id: 'translate' })
  await provider.next({ type: 'chat_request' })
  provider.send({ type: 'chat_reject', consumer_id: 'bob' })
  t.match(await consumer.next({ type: 'chat_reject' }), { request_id: 'b', reason: 'Service unavailable' })

  provider.send({ type: 'chat_accept', consumer_id: 'bob' })
  t.match(await provider.next({ type: 'error' }), { error_code: 'invalid_request', frame: 'chat_accept' }, 'nothing left to accept')
})

t.test('an unknown service and an offline provider', async (t) => {
  const { hubUrl } = await hubServer(t)
  const consumer = await agent(t, hubUrl, 'carol')
  consumer.send({ type: 'chat_request', request_id: 'x1', service_id: 'nope' })
  t.match(await consumer.next({ type: 'error' }), { request_id: 'x1', error_code: 'service_not_found', frame: 'chat_request' })

  const provider = await agent(t, hubUrl, 'sleepy')
  provider.send({ type: 'register', service_id: 'naps' })
  await provider.next({ type: 'registered' })
  await provider.close()
  consumer.send({ type: 'chat_request', request_id: 'x2', service_id: 'naps' })
  t.match(await consumer.next({ type: 'error' }), { request_id: 'x2', error_code: 'provider_offline' })

  const back = await agent(t, hubUrl, 'sleepy')
  consumer.send({ type: 'chat_request', request_id: 'x3', service_id: 'naps' })
  t.match(await back.next({ type: 'chat_request' }), { request_id: 'x3' }, 'the service stays registered while its provider is away')
})

t.test('a service belongs to its provider while it is connected', async (t) => {
  const { hubUrl } = await hubServer(t)
  const first = await agent(t, hubUrl, 'first')
  first.send({ type: 'register', service_id: 'maps' })
  await first.next({ type: 'registered' })
  const second = await agent(t, hubUrl, 'second')
  second.send({ type: 'register', service_id: 'maps' })
  t.match(await second.next({ type: 'error' }), { error_code: 'forbidden', frame: 'register' })
  await first.close()
  second.send({ type: 'register', service_id: 'maps' })
  t.match(await second.next({ type: 'registered' }), { service_id: 'maps' })
})

t.test('a channel is a session: its members can read and write it over HTTP', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const status = await http(base, 'GET', `/v1/sessions/${channelId}`)
  t.equal(status.status, 200)
  t.same(status.body.agents.sort(), ['alice', 'weather-bot'])
  t.equal(status.body.creatorAgentId, 'weather-bot', 'the provider is the creator')

  const sent = await http(base, 'POST', `/v1/sessions/${channelId}/messages`, { 'x-agent-id': 'alice' }, { text: 'sent with curl' })
  t.equal(sent.status, 201)
  t.equal(sent.body.verified, false, 'no key over HTTP: unverified, as the HTTP contract says')
  t.match(await provider.next({ type: 'chat_message' }), { sender_id: 'alice', content: 'sent with curl', verified: false, cursor: sent.body.cursor })
  t.same(await consumer.drain({ type: 'chat_message' }), [], 'the sender does not get its own message back')

  const fake = makeFakes().find((f) => f.type === 'aws_access_key_id')!
  provider.send({ type: 'chat_message', channel_id: channelId, content: `my key is ${fake.snippet}` })
  const ack = await provider.next({ type: 'chat_message_ack' })
  t.same(ack.redactions, ['aws_access_key_id'], 'secrets are redacted as on HTTP')
  const delivered = await consumer.next({ type: 'chat_message' })
  t.notOk(String(delivered.content).includes(fake.secret), 'and never reach the other side')
  const polled = await http(base, 'GET', `/v1/sessions/${channelId}/messages?after=${sent.body.cursor}`, { 'x-agent-id': 'alice' })
  t.match(polled.body.messages[0], { agentId: 'weather-bot', verified: true, text: /\[REDACTED:/ })
})
