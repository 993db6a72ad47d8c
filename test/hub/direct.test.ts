import t from 'tap'
import { agent, http, hubServer } from './helpers.js'

t.test('direct messages by agent id: a channel for the pair, made on first use', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const ann = await agent(t, hubUrl, 'ann')
  const ben = await agent(t, hubUrl, 'ben')

  ann.send({ type: 'chat_message', target_agent: 'ben', content: 'hi ben', message_id: 'd1' })
  const first = await ben.next({ type: 'chat_message' })
  t.match(first, { sender_id: 'ann', content: 'hi ben', cursor: '1', verified: true })
  t.notOk('service_id' in first, 'a direct channel has no service')
  const ack = await ann.next({ type: 'chat_message_ack' })
  t.match(ack, { message_id: 'd1', channel_id: first.channel_id, cursor: '1', status: 'delivered' })

  ben.send({ type: 'chat_message', target_agent: 'ann', content: 'hi ann' })
  t.match(await ann.next({ type: 'chat_message' }), { channel_id: first.channel_id, sender_id: 'ben', cursor: '2' }, 'the same channel both ways')
  t.match(await ben.next({ type: 'chat_message_ack' }), { channel_id: first.channel_id, status: 'delivered' })

  const status = await http(base, 'GET', `/v1/sessions/${first.channel_id}`)
  t.equal(status.body.creatorAgentId, 'ann', 'the first sender made the session')

  ann.send({ type: 'chat_message', target_agent: 'ann', content: 'me?' })
  t.match(await ann.next({ type: 'error' }), { error_code: 'invalid_request', frame: 'chat_message' })
  ann.send({ type: 'chat_message', target_agent: 'system', content: 'root?' })
  t.match(await ann.next({ type: 'error' }), { error_code: 'invalid_request' }, 'reserved ids are refused as in HTTP')
})

t.test('status is honest: queued when no other member is online, delivered when one is', async (t) => {
  const { hubUrl } = await hubServer(t)
  const cal = await agent(t, hubUrl, 'cal')
  cal.send({ type: 'chat_message', target_agent: 'dee', content: 'are you there?' })
  const queued = await cal.next({ type: 'chat_message_ack' })
  t.equal(queued.status, 'queued', 'dee never connected')

  const dee = await agent(t, hubUrl, 'dee')
  t.match(await dee.next({ type: 'chat_message' }), { content: 'are you there?', cursor: queued.cursor }, 'delivered on connect')
  cal.send({ type: 'chat_message', channel_id: queued.channel_id, content: 'now?' })
  t.equal((await cal.next({ type: 'chat_message_ack' })).status, 'delivered')

  await dee.close()
  cal.send({ type: 'chat_message', channel_id: queued.channel_id, content: 'gone again' })
  t.equal((await cal.next({ type: 'chat_message_ack' })).status, 'queued')
})

t.test('two first messages at once between a pair make one channel', async (t) => {
  const { hubUrl } = await hubServer(t)
  const eve = await agent(t, hubUrl, 'eve')
  const fay = await agent(t, hubUrl, 'fay')
  eve.send({ type: 'chat_message', target_agent: 'fay', content: 'from eve' })
  fay.send({ type: 'chat_message', target_agent: 'eve', content: 'from fay' })
  const [a, b] = await Promise.all([eve.next({ type: 'chat_message_ack' }), fay.next({ type: 'chat_message_ack' })])
  t.equal(a.channel_id, b.channel_id)
  t.same([a.cursor, b.cursor].sort(), ['1', '2'])
})

t.test('a message id sent twice is stored once and answered alike', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const gil = await agent(t, hubUrl, 'gil')
  gil.send({ type: 'chat_message', target_agent: 'hal', content: 'once', message_id: 'same-id' })
  gil.send({ type: 'chat_message', target_agent: 'hal', content: 'once', message_id: 'same-id' })
  const [first, second] = [await gil.next({ type: 'chat_message_ack' }), await gil.next({ type: 'chat_message_ack' })]
  t.same(second, first)
  const page = await http(base, 'GET', `/v1/sessions/${first.channel_id}/messages`, { 'x-agent-id': 'gil' })
  t.equal(page.body.messages.length, 1)
})
