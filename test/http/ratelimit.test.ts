import t from 'tap'
import { build, call } from '../helpers.js'

t.test('over the per-IP budget: 429 rate_limit_exceeded with Retry-After', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '60' })
  for (let i = 0; i < 5; i++) {
    const res = await call(app, { method: 'PUT', url: '/v1/sessions' })
    t.equal(res.status, 201)
    t.equal(res.headers['x-ratelimit-limit'], '5')
    t.equal(res.headers['x-ratelimit-remaining'], String(4 - i))
  }
  const over = await call(app, { method: 'PUT', url: '/v1/sessions' })
  t.equal(over.status, 429)
  t.equal(over.body.error, 'rate_limit_exceeded')
  t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60)
  t.equal((await call(app, { method: 'GET', url: '/health' })).status, 200, '/health is not limited')
  const other = await call(app, { method: 'PUT', url: '/v1/sessions', remoteAddress: '10.9.8.7' })
  t.equal(other.status, 201, 'another address has its own budget')
})

t.test('TRUST_PROXY decides whose address is counted', async (t) => {
  const trusting = await build(t, { RATE_LIMIT_MAX: '2', TRUST_PROXY: 'true' })
  const viaProxy = (ip: string) => call(trusting, { method: 'PUT', url: '/v1/sessions', headers: { 'x-forwarded-for': ip } })
  await viaProxy('1.1.1.1')
  await viaProxy('1.1.1.1')
  t.equal((await viaProxy('1.1.1.1')).status, 429)
  t.equal((await viaProxy('2.2.2.2')).status, 201, 'behind a trusted proxy each client is counted')

  const direct = await build(t, { RATE_LIMIT_MAX: '2' })
  const spoof = (ip: string) => call(direct, { method: 'PUT', url: '/v1/sessions', headers: { 'x-forwarded-for': ip } })
  await spoof('1.1.1.1')
  await spoof('2.2.2.2')
  t.equal((await spoof('3.3.3.3')).status, 429, 'without TRUST_PROXY a forged header does not help')
})
