import t from 'tap'
import { NexusClient } from '../../src/client/index.js'
import { agent, http, hubServer, openChat, until } from './helpers.js'

/** An event stream's events, collected as they come; `closed` once the server ends it. */
async function openStream(url: string, headers: Record<string, string>) {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  const events: { id?: string; event: string; data: string }[] = []
  let closed = false
  void (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true })
        let split: number
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split)
          buffer = buffer.slice(split + 2)
          const event: { id?: string; event: string; data: string } = { event: 'message', data: '' }
          let isEvent = false
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) event.id = line.slice(4)
            else if (line.startsWith('event: ')) [event.event, isEvent] = [line.slice(7), true]
            else if (line.startsWith('data: ')) [event.data, isEvent] = [event.data + line.slice(6), true]
          }
          if (isEvent) events.push(event)
        }
      }
    } catch {
      // aborted by the test
    }
    closed = true
  })()
  return {
    events,
    get closed() {
      return closed
    },
    close: () => controller.abort(),
  }
}

t.test('ended over the hub: a hub member, an HTTP poller and an event stream meet the same end, once', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const joined = await http(base, 'POST', `/v1/sessions/${channelId}/join`, { 'x-agent-id': 'bob' })
  const bob = { 'x-agent-id': 'bob', 'x-session-key': joined.body.sessionKey as string }
  const stream = await openStream(`${base}/v1/sessions/${channelId}/events`, { 'x-agent-id': 'bob' })
  t.teardown(stream.close)

  provider.send({ type: 'chat_message', channel_id: channelId, content: 'last words' })
  await provider.next({ type: 'chat_message_ack' })
  await http(base, 'POST', `/v1/sessions/${channelId}/messages`, bob, { text: 'bob too' })
  consumer.send({ type: 'chat_end', channel_id: channelId, reason: 'done' })

  const end = { type: 'chat_end', channel_id: channelId, ended_by: 'alice', reason: 'done' }
  t.same(await consumer.next({ type: 'chat_end' }), end)
  t.same(await provider.next({ type: 'chat_end' }), end)
  const before = consumer.frames.filter((f) => f.type === 'chat_message' || f.type === 'chat_end').map((f) => f.type === 'chat_end' ? 'end' : f.content)
  t.same(before, ['last words', 'bob too', 'end'], 'the end comes after every message before it')

  // HTTP: the final message is the last, from the system, and the page says where the end is.
  const page = await http(base, 'GET', `/v1/sessions/${channelId}/messages`, { 'x-agent-id': 'bob' })
  t.equal(page.status, 200)
  const final = page.body.messages.at(-1)
  t.match(final, { agentId: 'system', verified: true, json: { event: 'session_ended', endedBy: 'alice', reason: 'done' } })
  t.equal(page.body.messages.filter((m: any) => m.agentId === 'system').length, 1, 'one final message')
  t.match(page.body.ended, { by: 'alice', reason: 'done', cursor: final.cursor })
  t.equal(page.body.nextCursor, final.cursor)

  // The event stream: the same final message, then `ended`, and the stream closes.
  await until(() => stream.closed)
  t.same(stream.events.map((e) => e.event), ['message', 'message', 'message', 'ended'])
  t.equal(stream.events[2]!.id, final.cursor, 'the stream ends on the same cursor')
  t.match(JSON.parse(stream.events[3]!.data), { by: 'alice', reason: 'done', cursor: final.cursor })

  // A long-poll after the end answers at once: nothing more will come.
  const started = Date.now()
  const waited = await http(base, 'GET', `/v1/sessions/${channelId}/messages?after=${final.cursor}&wait=60`, { 'x-agent-id': 'bob' })
  t.same(waited.body.messages, [])
  t.ok(Date.now() - started < 20_000, 'not held for its wait')

  const status = await http(base, 'GET', `/v1/sessions/${channelId}`)
  t.match(status.body, { state: 'active', ended: { by: 'alice', cursor: final.cursor } })

  // Every way in refuses to write to it, and to end it again.
  const late = await http(base, 'POST', `/v1/sessions/${channelId}/messages`, bob, { text: 'anyone?' })
  t.equal(late.status, 409)
  t.equal(late.body.error, 'channel_ended')
  provider.send({ type: 'chat_message', channel_id: channelId, content: 'too late', request_id: 'late' })
  t.match(await provider.next({ type: 'error' }), { error_code: 'channel_ended', request_id: 'late' })
  provider.send({ type: 'chat_end', channel_id: channelId })
  t.match(await provider.next({ type: 'error' }), { error_code: 'channel_ended' })
  const again = await http(base, 'POST', `/v1/sessions/${channelId}/end`, bob, {})
  t.equal(again.status, 409)
  t.equal(again.body.error, 'channel_ended')

  await consumer.drain(undefined, 200)
  t.same(consumer.frames.filter((f) => f.type === 'chat_message' || f.type === 'chat_end').length, 3, 'the end is told once, and nothing after it')
  t.same(provider.frames.filter((f) => f.type === 'chat_end').length, 1)
})

t.test('ended over HTTP: hub members get chat_end in its place, and the hub refuses sends', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const client = new NexusClient({ baseUrl: base, agentId: 'bob' })
  t.teardown(() => client.close())
  await client.join(channelId)
  provider.send({ type: 'chat_message', channel_id: channelId, content: 'before the end' })
  await provider.next({ type: 'chat_message_ack' })

  const noKey = await http(base, 'POST', `/v1/sessions/${channelId}/end`, { 'x-agent-id': 'bob' }, {})
  t.equal(noKey.status, 401, 'ending over HTTP needs the key')
  t.equal(noKey.body.error, 'missing_session_key')
  const wrongKey = await http(base, 'POST', `/v1/sessions/${channelId}/end`, { 'x-agent-id': 'bob', 'x-session-key': 'sk_wrong' }, {})
  t.equal(wrongKey.status, 401)
  const stranger = await http(base, 'POST', `/v1/sessions/${channelId}/end`, { 'x-agent-id': 'mallory', 'x-session-key': 'sk_wrong' }, {})
  t.equal(stranger.status, 403)
  t.equal(stranger.body.error, 'agent_not_in_session')

  const ended = await client.end(channelId, { reason: 'wrapping up' })
  t.match(ended, { sessionId: channelId, ended: { by: 'bob', reason: 'wrapping up', cursor: '2' } })

  const end = { type: 'chat_end', channel_id: channelId, ended_by: 'bob', reason: 'wrapping up' }
  t.same(await consumer.next({ type: 'chat_end' }), end)
  t.same(await provider.next({ type: 'chat_end' }), end)
  t.same(consumer.frames.filter((f) => f.type === 'chat_message').map((f) => f.content), ['before the end'], 'the final message is told as chat_end, not as a message')

  consumer.send({ type: 'chat_message', channel_id: channelId, content: 'wait', request_id: 'w' })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'channel_ended', request_id: 'w' })
  consumer.send({ type: 'chat_message', service_id: 'weather', content: 'wait', request_id: 'w2' })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'session_not_found', request_id: 'w2' }, 'no longer found by service')
  await t.rejects(client.send(channelId, 'still here?'), { code: 'channel_ended', status: 409 })

  // A member connecting later hears the end once, after the messages it missed.
  await consumer.close()
  const back = await agent(t, hubUrl, 'alice')
  t.same(await back.drain((f) => f.type === 'chat_end', 300), [], 'told already')

  // The client's message stream ends after the final message.
  const seen: string[] = []
  for await (const message of client.messages(channelId)) seen.push(message.agentId)
  t.same(seen, ['weather-bot', 'system'])
})

t.test('a direct pair whose channel was ended over HTTP, unseen by the hub, gets a new channel', async (t) => {
  const { hubUrl, base } = await hubServer(t)
  const ann = await agent(t, hubUrl, 'ann')
  await agent(t, hubUrl, 'ben').then((ben) => ben.close())
  ann.send({ type: 'chat_message', target_agent: 'ben', content: 'hi ben' })
  const first = await ann.next({ type: 'chat_message_ack' })
  await ann.close()
  const joined = await http(base, 'POST', `/v1/sessions/${first.channel_id}/join`, { 'x-agent-id': 'cat' })
  const ended = await http(base, 'POST', `/v1/sessions/${first.channel_id}/end`, { 'x-agent-id': 'cat', 'x-session-key': joined.body.sessionKey }, { reason: 'closed' })
  t.equal(ended.status, 200)

  const back = await agent(t, hubUrl, 'ann')
  back.send({ type: 'chat_message', target_agent: 'ben', content: 'again', request_id: 'again' })
  const second = await back.next({ type: 'chat_message_ack' })
  t.not(second.channel_id, first.channel_id, 'a new channel for the pair')
  t.equal(second.cursor, '1')
})
