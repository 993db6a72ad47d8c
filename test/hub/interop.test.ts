import t from 'tap'
import { agent, http, hubServer, openChat } from './helpers.js'

t.test('a WebSocket member and an HTTP member in one channel see each other, in one cursor order', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  // A third agent joins the channel with curl, as any session.
  const joined = await http(base, 'POST', `/v1/sessions/${channelId}/join`, { 'x-agent-id': 'curl-agent' })
  t.equal(joined.status, 200)
  const key = joined.body.sessionKey

  const sends: Promise<unknown>[] = []
  for (let i = 0; i < 10; i++) {
    consumer.send({ type: 'chat_message', channel_id: channelId, content: `ws ${i}` })
    sends.push(http(base, 'POST', `/v1/sessions/${channelId}/messages`, { 'x-agent-id': 'curl-agent', 'x-session-key': key }, { text: `http ${i}` }))
  }
  await Promise.all(sends)
  for (let i = 0; i < 10; i++) await consumer.next({ type: 'chat_message_ack' })

  const page = await http(base, 'GET', `/v1/sessions/${channelId}/messages`, { 'x-agent-id': 'curl-agent' })
  t.equal(page.body.messages.length, 20, 'the HTTP member reads the hub messages')
  const order = page.body.messages.map((m: any) => `${m.cursor}:${m.text}`)

  // The provider, on the hub, got all 20 pushed, in the same cursor order.
  const pushed = [await provider.next({ type: 'chat_message' })]
  while (pushed.length < 20) pushed.push(await provider.next({ type: 'chat_message' }))
  t.same(pushed.map((m) => `${m.cursor}:${m.content}`), order)
  t.ok(pushed.filter((m) => m.sender_id === 'curl-agent').every((m) => m.verified), 'the HTTP member sent with its key')

  // The consumer got only the HTTP member's messages (never its own), in order.
  const toConsumer = [await consumer.next({ type: 'chat_message' })]
  while (toConsumer.length < 10) toConsumer.push(await consumer.next({ type: 'chat_message' }))
  t.same(toConsumer.map((m) => `${m.cursor}:${m.content}`), order.filter((line: string) => line.includes('http')))
  t.same(await consumer.drain({ type: 'chat_message' }, 200), [])
})

t.test('a member that joined over HTTP can use the channel through the hub', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const created = await http(base, 'PUT', '/v1/sessions', {}, { creatorAgentId: 'http-host' })
  const sessionId = created.body.sessionId
  await http(base, 'POST', `/v1/sessions/${sessionId}/join`, { 'x-agent-id': 'hub-guest' })

  const guest = await agent(t, hubUrl, 'hub-guest')
  guest.send({ type: 'chat_message', channel_id: sessionId, content: 'hello from the hub' })
  const ack = await guest.next({ type: 'chat_message_ack' })
  t.match(ack, { channel_id: sessionId, cursor: '1', status: 'queued', verified: false }, 'the hub holds no key it was not given')

  const sent = await http(base, 'POST', `/v1/sessions/${sessionId}/messages`, { 'x-agent-id': 'http-host', 'x-session-key': created.body.sessionKey }, { text: 'hello from curl', json: { n: 1 } })
  t.match(await guest.next({ type: 'chat_message' }), { sender_id: 'http-host', content: 'hello from curl', json: { n: 1 }, cursor: sent.body.cursor, verified: true }, 'pushed once the member used it')
})
