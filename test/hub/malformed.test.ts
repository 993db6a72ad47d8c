import t from 'tap'
import { agent, hubServer, openChat } from './helpers.js'

t.test('every malformed frame gets an error frame; the connection and the hub go on', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_MAX_FRAME_BYTES: '4096' })
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const cases: [string, string | Buffer, Record<string, unknown>, boolean?][] = [
    ['not JSON', '{"type": "chat_message", ', { error_code: 'invalid_body' }],
    ['not an object', '[1, 2, 3]', { error_code: 'invalid_body' }],
    ['a bare string', '"hello"', { error_code: 'invalid_body' }],
    ['no type', '{"content": "hi"}', { error_code: 'invalid_request' }],
    ['a type that is not a string', '{"type": 42}', { error_code: 'invalid_request' }],
    ['an unknown type', '{"type": "chat_teleport", "request_id": "u1"}', { error_code: 'invalid_request', request_id: 'u1', message: /Unknown frame type/ }],
    ['an inherited name as type', '{"type": "constructor"}', { error_code: 'invalid_request', message: /Unknown frame type/ }],
    ['__proto__ keys', '{"type": "ping", "__proto__": {"x": 1}}', { error_code: 'invalid_body' }],
    ['chat_message without content', JSON.stringify({ type: 'chat_message', channel_id: channelId, message_id: 'm-x' }), { error_code: 'invalid_request', request_id: 'm-x', frame: 'chat_message', details: [{ path: 'content' }] }],
    ['chat_message without a destination', JSON.stringify({ type: 'chat_message', content: 'where to?' }), { error_code: 'invalid_request' }],
    ['chat_message with a number as content', JSON.stringify({ type: 'chat_message', channel_id: channelId, content: 42 }), { error_code: 'invalid_request' }],
    ['chat_message with an empty content', JSON.stringify({ type: 'chat_message', channel_id: channelId, content: '' }), { error_code: 'invalid_request' }],
    ['chat_message with a channel id that is a number', JSON.stringify({ type: 'chat_message', channel_id: 7, content: 'x' }), { error_code: 'invalid_request', details: [{ path: 'channel_id' }] }],
    ['chat_message to a channel that does not exist', JSON.stringify({ type: 'chat_message', channel_id: 'f'.repeat(48), content: 'x' }), { error_code: 'session_not_found' }],
    ['chat_request without request_id', JSON.stringify({ type: 'chat_request', service_id: 'weather' }), { error_code: 'invalid_request', details: [{ path: 'request_id' }] }],
    ['chat_request with a bad service id', JSON.stringify({ type: 'chat_request', request_id: 'r', service_id: 'no spaces' }), { error_code: 'invalid_request' }],
    ['register with a list as service id', JSON.stringify({ type: 'register', service_id: ['a'] }), { error_code: 'invalid_request' }],
    ['chat_accept without consumer_id', JSON.stringify({ type: 'chat_accept' }), { error_code: 'invalid_request' }],
    ['chat_end without channel_id', JSON.stringify({ type: 'chat_end' }), { error_code: 'invalid_request' }],
    ['chat_history without request_id', JSON.stringify({ type: 'chat_history', channel_id: channelId }), { error_code: 'invalid_request' }],
    ['a text frame that is not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { error_code: 'invalid_body', message: /UTF-8/ }],
    ['a text frame cut inside a UTF-8 character', Buffer.from('{"type":"ping","request_id":"\u00e9"}').subarray(0, 30), { error_code: 'invalid_body', message: /UTF-8/ }],
    ['a binary frame', Buffer.from('{"type":"ping"}'), { error_code: 'invalid_body', message: /binary/ }, true],
    ['an oversized frame', JSON.stringify({ type: 'chat_message', channel_id: channelId, content: 'x'.repeat(5000) }), { error_code: 'payload_too_large' }],
  ]
  for (const [name, data, expected, binary] of cases) {
    consumer.sendRaw(data, { binary: binary ?? false })
    t.match(await consumer.next({ type: 'error' }), expected, name)
    consumer.send({ type: 'ping', request_id: name.replace(/[^A-Za-z0-9]/g, '-') })
    await consumer.next({ type: 'pong' })
  }
  consumer.send({ type: 'chat_message', channel_id: channelId, content: 'still here' })
  t.match(await provider.next({ type: 'chat_message' }), { content: 'still here', cursor: '1' }, 'nothing malformed was stored')
})

t.test('a frame too large even to read closes only that socket', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_MAX_FRAME_BYTES: '4096' })
  const big = await agent(t, hubUrl, 'big')
  const other = await agent(t, hubUrl, 'other')
  big.sendRaw('x'.repeat(4096 * 4 + 1))
  t.equal((await big.closed).code, 1009, 'message too big')
  other.send({ type: 'ping' })
  t.match(await other.next({ type: 'pong' }), { type: 'pong' })
})

t.test('frames per second are limited per connection, with a clear error', async (t) => {
  const { hubUrl } = await hubServer(t, { HUB_FRAMES_PER_SECOND: '5' })
  const fast = await agent(t, hubUrl, 'fast')
  const calm = await agent(t, hubUrl, 'calm')
  for (let i = 0; i < 12; i++) fast.send({ type: 'ping', request_id: `p${i}` })
  const frames = [await fast.next(), ...(await fast.drain(undefined, 300))]
  const limited = frames.filter((f) => f.type === 'error')
  t.ok(limited.length >= 5, `${limited.length} refused`)
  t.match(limited[0], { error_code: 'rate_limit_exceeded', request_id: String, message: /5 frames per second/ })
  t.ok(frames.filter((f) => f.type === 'pong').length >= 4, 'the budget was served')
  calm.send({ type: 'ping' })
  t.match(await calm.next({ type: 'pong' }), {}, 'another connection has its own budget')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  fast.send({ type: 'ping', request_id: 'later' })
  t.match(await fast.next({ type: 'pong' }), { request_id: 'later' }, 'and it refills')
})
