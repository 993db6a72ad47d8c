import t from 'tap'
import { NexusClient } from '../../src/client/index.js'
import { build } from '../helpers.js'
import { Receiver, until } from './receiver.js'

t.test('NexusClient sets, reads and removes a webhook; deliveries verify with its secret', async (t) => {
  const r = await new Receiver().start()
  t.teardown(() => r.stop())
  const app = await build(t, { WEBHOOK_ALLOW_PRIVATE: 'true' })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const alice = new NexusClient({ baseUrl: address, agentId: 'alice' })
  const bob = new NexusClient({ baseUrl: address, agentId: 'bob' })
  t.teardown(() => Promise.all([alice.close(), bob.close()]))
  const { sessionId } = await alice.createSession({ creatorAgentId: 'alice' })
  await bob.join(sessionId)
  t.equal(await bob.getWebhook(sessionId), null)
  const set = await bob.setWebhook(sessionId, r.url)
  t.match(set, { url: r.url, replaced: false, secret: /^whsec_/ })
  await alice.send(sessionId, 'hello bob')
  t.ok(await until(() => r.texts().length === 1))
  t.same(r.texts(), ['hello bob'])
  t.ok(r.verify(set.secret))
  t.ok(await until(() => r.deliveries.length === 1))
  const health = await bob.getWebhook(sessionId)
  t.match(health, { url: r.url, lastError: null, attempts: 0 })
  t.equal(await bob.removeWebhook(sessionId), true)
  t.equal(await bob.removeWebhook(sessionId), false)
  await t.rejects(alice.setWebhook(sessionId, 'ftp://x'), { code: 'webhook_url_refused', status: 400 })
})
