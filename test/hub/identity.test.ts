import t from 'tap'
import { agent, rawClient, hubServer, openChat } from './helpers.js'

t.test('an agent id is held by one live connection; the resume token takes it over', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const token = consumer.connected.resume_token

  const impostor = await rawClient(t, hubUrl)
  impostor.send({ type: 'connect', agent_id: 'alice' })
  t.match(await impostor.next({ type: 'error' }), { error_code: 'agent_id_taken', frame: 'connect' })
  impostor.send({ type: 'connect', agent_id: 'alice', resume_token: 'not-the-token' })
  t.match(await impostor.next({ type: 'error' }), { error_code: 'agent_id_taken' })
  impostor.send({ type: 'chat_message', channel_id: channelId, content: 'sneaky' })
  t.match(await impostor.next({ type: 'error' }), { error_code: 'missing_agent_id' }, 'still nobody')
  impostor.send({ type: 'ping' })
  await impostor.next({ type: 'pong' })

  const heir = await rawClient(t, hubUrl)
  heir.send({ type: 'connect', agent_id: 'alice', resume_token: token })
  const connected = await heir.next({ type: 'connected' })
  t.match(connected, { agent_id: 'alice', resume_token: token, resumed: true })
  t.not(connected.client_id, consumer.connected.client_id)
  t.same(await consumer.closed, { code: 4001, reason: 'another connection took over this agent id' }, 'the old connection is closed')

  provider.send({ type: 'chat_message', channel_id: channelId, content: 'to the new one' })
  t.match(await heir.next({ type: 'chat_message' }), { content: 'to the new one' })
  t.equal((await provider.next({ type: 'chat_message_ack' })).status, 'delivered')
  heir.send({ type: 'chat_message', channel_id: channelId, content: 'and back' })
  t.match(await heir.next({ type: 'chat_message_ack' }), { status: 'delivered', verified: true }, 'the key the hub holds for alice still signs')
})

t.test('after the holder is gone, the id is free again', async (t) => {
  const { hubUrl } = await hubServer(t)
  const first = await agent(t, hubUrl, 'kim')
  await first.close()
  const second = await agent(t, hubUrl, 'kim')
  t.equal(second.connected.agent_id, 'kim')
})

t.test('the agent id may come with the upgrade: ?agent_id= or X-Agent-Id, on / and /v1/hub', async (t) => {
  const { hubUrl } = await hubServer(t)
  const byQuery = await rawClient(t, `${hubUrl}/?agent_id=lee`)
  t.match(await byQuery.next({ type: 'connected' }), { agent_id: 'lee' })
  const byHeader = await rawClient(t, `${hubUrl}/v1/hub`, { headers: { 'x-agent-id': 'max' } })
  t.match(await byHeader.next({ type: 'connected' }), { agent_id: 'max' })
  byHeader.send({ type: 'connect', agent_id: 'max' })
  t.match(await byHeader.next({ type: 'connected' }), { agent_id: 'max' }, 'saying it again is harmless')
  byHeader.send({ type: 'connect', agent_id: 'someone-else' })
  t.match(await byHeader.next({ type: 'error' }), { error_code: 'invalid_request' }, 'but a connection speaks for one agent')
  const taken = await rawClient(t, `${hubUrl}/v1/hub?agent_id=lee`)
  t.match(await taken.next({ type: 'error' }), { error_code: 'agent_id_taken' })
})

t.test('bad agent ids are refused as on HTTP', async (t) => {
  const { hubUrl } = await hubServer(t)
  const client = await rawClient(t, hubUrl)
  for (const agentId of ['', 'has space', 'system', 'x'.repeat(129)]) {
    client.send({ type: 'connect', agent_id: agentId })
    const error = await client.next({ type: 'error' })
    t.ok(['invalid_request', 'missing_agent_id'].includes(error.error_code), `${JSON.stringify(agentId.slice(0, 10))}: ${error.error_code}`)
  }
})

t.test('GET / is still the home page, GET /v1/hub says what it is', async (t) => {
  const { base } = await hubServer(t)
  const home = await fetch(`${base}/`)
  t.equal(home.status, 200)
  t.match(await home.text(), /Nexus/)
  const hub = await fetch(`${base}/v1/hub`)
  t.equal(hub.status, 400)
  t.match(await hub.json(), { error: 'invalid_request', message: /WebSocket/ })
  const health = await (await fetch(`${base}/health`)).json() as any
  t.equal(health.capabilities.webSocketHub, true)
})
