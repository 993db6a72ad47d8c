import type { AddressInfo } from 'node:net'
import t from 'tap'
import { instance, testPrefix } from '../scale/support.js'
import { agent, http, hubServer, rawClient } from './helpers.js'

t.test('hub frames that write spend the address budget HTTP spends; over it, an error frame and the socket stays', async (t) => {
  // The upgrade spends 1 of 6; the connect frame nothing.
  const { base, hubUrl } = await hubServer(t, { RATE_LIMIT_MAX: '6', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const flooder = await agent(t, hubUrl, 'flooder')
  // Each message to a new target would make a session: the finding was 1,900 of them from one socket.
  for (let i = 0; i < 5; i++) {
    flooder.send({ type: 'chat_message', target_agent: `target-${i}`, content: 'hello', message_id: `m${i}` })
    t.match(await flooder.next({ type: 'chat_message_ack', message_id: `m${i}` }), { status: 'queued' }, `message ${i} is stored`)
  }
  flooder.send({ type: 'chat_message', target_agent: 'target-5', content: 'one too many', message_id: 'm5' })
  const refused = await flooder.next({ type: 'error' })
  t.match(refused, { error_code: 'rate_limit_exceeded', request_id: 'm5', frame: 'chat_message', message: /at most 6 per 60 s from one address/ })
  t.ok(refused.retry_after > 0 && refused.retry_after <= 60, `a retry-after hint (${refused.retry_after} s)`)
  for (const type of ['register', 'chat_request', 'chat_end']) {
    flooder.send({ type, service_id: 'svc', request_id: `r-${type}`, channel_id: 'c'.repeat(48) })
    t.match(await flooder.next({ type: 'error', frame: type }), { error_code: 'rate_limit_exceeded' }, `${type} is a write too`)
  }
  // Reads are not writes, and the socket is still there.
  flooder.send({ type: 'ping', request_id: 'still' })
  t.match(await flooder.next({ type: 'pong' }), { request_id: 'still' })
  t.equal(flooder.ws.readyState, 1, 'the socket stays open')
  // One budget: HTTP from the same address is over it too.
  const over = await http(base, 'PUT', '/v1/sessions', {}, {})
  t.equal(over.status, 429)
  t.equal(over.body.error, 'rate_limit_exceeded')
  const again = await rawClient(t, hubUrl).catch((err: Error) => err)
  t.match(again, { message: /429/ }, 'and so is a new upgrade from the address')
})

t.test('HTTP requests spend the budget hub writes then find empty', async (t) => {
  const { base, hubUrl } = await hubServer(t, { RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const writer = await agent(t, hubUrl, 'writer')
  writer.send({ type: 'register', service_id: 'svc' })
  await writer.next({ type: 'registered' })
  for (let i = 0; i < 2; i++) t.equal((await http(base, 'PUT', '/v1/sessions', {}, {})).status, 201)
  writer.send({ type: 'register', service_id: 'svc2' })
  t.match(await writer.next({ type: 'error' }), { error_code: 'rate_limit_exceeded', frame: 'register' })
})

t.test('the budget is per address, as fastify works it out (TRUST_PROXY)', async (t) => {
  const { hubUrl } = await hubServer(t, { RATE_LIMIT_MAX: '2', TRUST_PROXY: 'true' })
  const one = await rawClient(t, hubUrl, { headers: { 'x-forwarded-for': '198.51.100.1' } })
  one.send({ type: 'connect', agent_id: 'one' })
  await one.next({ type: 'connected' })
  const two = await rawClient(t, hubUrl, { headers: { 'x-forwarded-for': '198.51.100.2' } })
  two.send({ type: 'connect', agent_id: 'two' })
  await two.next({ type: 'connected' })
  one.send({ type: 'register', service_id: 'a' })
  await one.next({ type: 'registered' })
  one.send({ type: 'register', service_id: 'b' })
  t.match(await one.next({ type: 'error' }), { error_code: 'rate_limit_exceeded' }, 'the first address is spent')
  two.send({ type: 'register', service_id: 'c' })
  t.match(await two.next({ type: 'registered' }), { service_id: 'c' }, 'the second has its own budget')
})

t.test('on Redis the budget is one across instances: hub writes on one, HTTP on another', async (t) => {
  const prefix = testPrefix(t)
  const env = { RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW_SECONDS: '60' }
  const a = await instance(t, prefix, env)
  const b = await instance(t, prefix, env)
  await a.app.listen({ port: 0, host: '127.0.0.1' })
  const hubUrl = `ws://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`
  const writer = await agent(t, hubUrl, 'writer')
  writer.send({ type: 'register', service_id: 'svc' })
  await writer.next({ type: 'registered' })
  writer.send({ type: 'chat_message', target_agent: 'someone', content: 'hi', message_id: 'm1' })
  await writer.next({ type: 'chat_message_ack' })
  const statuses: number[] = []
  for (let i = 0; i < 2; i++) statuses.push((await b.app.inject({ method: 'PUT', url: '/v1/sessions', remoteAddress: '127.0.0.1' })).statusCode)
  t.same(statuses, [201, 429], 'the upgrade and two hub writes on A left B one request')
  writer.send({ type: 'register', service_id: 'svc2' })
  t.match(await writer.next({ type: 'error' }), { error_code: 'rate_limit_exceeded' }, 'and A sees what B spent')
})
