import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { Services } from '../../src/hub/services.js'
import { agent } from './helpers.js'

const online = () => false

t.test('services and requests of providers gone past the TTL are forgotten; those of providers back are kept', async (t) => {
  const services = new Services({ providerTtlMs: 60_000 })
  for (let i = 0; i < 1000; i++) {
    services.register({ serviceId: `s${i}`, providerId: `p${i}`, name: undefined, description: undefined }, online, 0)
    services.addRequest(`p${i}`, { requestId: 'r', consumerId: 'c', serviceId: `s${i}`, at: 0 })
  }
  t.same(services.size, { services: 1000, waiting: 1000 })
  for (let i = 0; i < 1000; i++) services.providerLeft(`p${i}`, 1000 + i)
  services.providerBack('p7')
  services.forgetDeparted(60_999)
  t.same(services.size, { services: 1000, waiting: 1000 }, 'nothing before the TTL')
  services.forgetDeparted(61_000 + 499)
  t.same(services.size, { services: 501, waiting: 501 }, 'the first half, gone longest, but p7, which came back')
  services.forgetDeparted(61_000 + 999)
  t.same(services.size, { services: 1, waiting: 1 }, 'all but the provider that came back')
  t.ok(services.get('s7', 1e9), 'its service is still there')
  t.equal(services.get('s8', 1e9), undefined)
})

t.test('a service taken over is not forgotten with its former provider', async (t) => {
  const services = new Services({ providerTtlMs: 1000 })
  services.register({ serviceId: 'weather', providerId: 'old', name: undefined, description: undefined }, online, 0)
  services.providerLeft('old', 0)
  services.register({ serviceId: 'weather', providerId: 'new', name: undefined, description: undefined }, online, 10)
  services.forgetDeparted(5000)
  t.equal(services.get('weather', 5000)?.providerId, 'new')
})

t.test('a provider gone for HUB_SERVICE_TTL_SECONDS loses its services and waiting requests (the injected clock)', async (t) => {
  let now = Date.parse('2026-12-01T00:00:00Z')
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', HUB_SERVICE_TTL_SECONDS: '120' }), { logger: false, clock: () => now })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const hubUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const provider = await agent(t, hubUrl, 'weather-bot')
  provider.send({ type: 'register', service_id: 'weather' })
  await provider.next({ type: 'registered' })
  const consumer = await agent(t, hubUrl, 'alice')
  consumer.send({ type: 'chat_request', request_id: 'r1', service_id: 'weather' })
  await provider.next({ type: 'chat_request' })
  await provider.close()

  now += 119_000
  consumer.send({ type: 'chat_request', request_id: 'r2', service_id: 'weather' })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'provider_offline' }, 'within the TTL the service waits for its provider')

  // Back within the TTL: kept, and the clock starts again when it next leaves.
  const back = await agent(t, hubUrl, 'weather-bot')
  now += 500_000
  await back.close()
  now += 119_000
  consumer.send({ type: 'chat_request', request_id: 'r3', service_id: 'weather' })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'provider_offline' }, 'a provider that came back keeps its service')

  now += 1000
  consumer.send({ type: 'chat_request', request_id: 'r4', service_id: 'weather' })
  t.match(await consumer.next({ type: 'error' }), { error_code: 'service_not_found' }, 'past the TTL the service is forgotten')

  // Its waiting request went with it.
  const again = await agent(t, hubUrl, 'weather-bot')
  again.send({ type: 'chat_accept', consumer_id: 'alice', request_id: 'r1' })
  t.match(await again.next({ type: 'error' }), { error_code: 'invalid_request', message: /No chat request r1/ })
})
