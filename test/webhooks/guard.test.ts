import type { LookupAddress } from 'node:dns'
import t from 'tap'
import { AddressPolicy, urlProblem } from '../../src/webhooks/guard.js'
import { retryDelay } from '../../src/webhooks/backoff.js'
import { build, call, send, twoAgents } from '../helpers.js'
import { until } from './receiver.js'

t.test('refused: loopback, private, link-local, multicast, metadata, IPv6-mapped and translated forms', async (t) => {
  const policy = new AddressPolicy(false)
  const cases: [string, string | null][] = [
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'reserved'],
    ['::', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a00:1', 'private'],
    ['64:ff9b::7f00:1', 'reserved'],
    ['2002:7f00:1::', 'reserved'],
    ['8.8.8.8', null],
    ['93.184.216.34', null],
    ['2606:4700::1111', null],
    ['::ffff:8.8.8.8', null],
  ]
  for (const [address, kind] of cases) t.equal(policy.refusal(address), kind, address)
})

t.test('the operator allows all, or some ranges', async (t) => {
  t.equal(new AddressPolicy(true).refusal('127.0.0.1'), null)
  const some = new AddressPolicy(['10.0.0.0/8', 'fd00::/8'])
  t.equal(some.refusal('10.2.3.4'), null)
  t.equal(some.refusal('fd00::5'), null)
  t.equal(some.refusal('192.168.0.1'), 'private')
  t.equal(some.refusal('127.0.0.1'), 'loopback')
})

t.test('URLs: http(s) only, no credentials, literal refused addresses refused, names left to delivery', async (t) => {
  const policy = new AddressPolicy(false)
  t.equal(urlProblem('https://example.com/hook', policy), null)
  t.equal(urlProblem('http://example.com:8080/hook?x=1', policy), null)
  t.match(urlProblem('ftp://example.com/', policy), { path: 'url', message: /http/ })
  t.match(urlProblem('https://a:b@example.com/', policy), { message: /credentials/ })
  t.match(urlProblem('http://[::ffff:127.0.0.1]/', policy), { message: /loopback/ })
  t.match(urlProblem('http://0x7f000001/', policy), { message: /loopback/ }, 'the URL parser reads hex IPv4 as 127.0.0.1')
  t.match(urlProblem('http://localhost/', policy), { message: /loopback/ })
  t.match(urlProblem(`https://example.com/${'x'.repeat(2100)}`, policy), { message: /2048/ })
})

t.test('backoff doubles from the base, is capped, and has jitter', async (t) => {
  t.equal(retryDelay(1, 100, 10_000, () => 1), 100)
  t.equal(retryDelay(3, 100, 10_000, () => 1), 400)
  t.equal(retryDelay(3, 100, 10_000, () => 0), 200)
  t.equal(retryDelay(40, 100, 10_000, () => 1), 10_000)
})

t.test('a name that resolves to a refused address is refused at delivery (no DNS rebinding)', async (t) => {
  // The name resolves to loopback, where the receiver would be: the guard must stop the connect.
  let asked = 0
  const resolve = ((_host: string, _options: unknown, callback: (err: null, addresses: LookupAddress[]) => void) => {
    asked++
    callback(null, [{ address: '127.0.0.1', family: 4 }])
  }) as unknown as typeof import('node:dns').lookup
  const app = await build(t, { WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_SECONDS: '1' }, { webhookResolve: resolve })
  const { sessionId, hostKey, guestKey } = await twoAgents(app)
  const headers = { 'x-agent-id': 'guest', 'x-session-key': guestKey }
  const set = await call(app, { method: 'PUT', url: `/v1/sessions/${sessionId}/webhook`, headers, payload: { url: 'http://rebind.example/hook' } })
  t.equal(set.status, 200, 'a name is accepted when set')
  await send(app, sessionId, 'host', { text: 'hi' }, hostKey)
  let health: any
  t.ok(await until(() => asked > 0, 5000))
  t.ok(
    await until(() => {
      void call(app, { method: 'GET', url: `/v1/sessions/${sessionId}/webhook`, headers }).then((r) => (health = r.body.webhook))
      return typeof health?.lastError === 'string'
    }, 5000),
  )
  t.match(health.lastError, /refused: the host resolves to a loopback address/)
  t.equal(health.pending, 1)
})
