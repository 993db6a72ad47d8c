import t from 'tap'
import { Receiver } from '../webhooks/receiver.js'
import { pairedSession, startServer } from './helpers.js'

// The test's receiver listens on 127.0.0.1, which webhooks may reach only when allowed.
const server = await startServer(t, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '20' })

/** Waits (bounded) until `check` holds: deliveries travel on their own schedule. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('end: ends the session for both; sends after it are refused with channel_ended', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, server.base)
  t.equal((await bob.run(['send', sid, 'before the end'])).code, 0)

  const ended = await alice.run(['end', sid, '--reason', 'all done'])
  t.equal(ended.code, 0, ended.stderr)
  t.match(ended.json, { sessionId: sid, ended: { by: 'alice', reason: 'all done', cursor: /^\d+$/ } })
  t.match(ended.stderr, 'channel_ended')

  const refused = await bob.run(['send', sid, 'after the end'])
  t.equal(refused.code, 1)
  t.match(refused.json, { error: 'channel_ended' })

  // Bob's poll meets the final message, from system, once, in cursor order.
  const page = await bob.run(['poll', sid])
  t.equal(page.code, 0, page.stderr)
  const texts = page.json.messages.map((m: { agentId: string; text: string }) => `${m.agentId}: ${m.text}`)
  t.match(texts.at(-1), /^system: alice ended the session: all done$/)
  t.equal(texts.filter((line: string) => line.startsWith('system: alice ended')).length, 1)
  t.equal(page.json.ended?.cursor, ended.json.ended.cursor)

  const again = await alice.run(['end', sid])
  t.equal(again.code, 1)
  t.match(again.json, { error: 'channel_ended' })
})

t.test('end needs the saved key', async (t) => {
  const { bob, sid } = await pairedSession(t, server.base)
  const stranger = await bob.run(['end', sid, '--agent-id', 'mallory'])
  t.equal(stranger.code, 1)
  t.match(stranger.json, { error: 'no session key found' })
})

t.test('webhook: set (secret shown once), deliveries verified, health, remove', async (t) => {
  const receiver = await new Receiver().start()
  t.teardown(() => receiver.stop())
  const { alice, bob, sid } = await pairedSession(t, server.base)

  const set = await bob.run(['webhook', sid, receiver.url])
  t.equal(set.code, 0, set.stderr)
  t.match(set.json, { url: receiver.url, secret: /^whsec_/ })
  t.match(set.stderr, 'not shown again')

  t.equal((await alice.run(['send', sid, 'wake up, bob'])).code, 0)
  await until(() => receiver.texts().includes('wake up, bob'), 'the delivery')
  t.ok(receiver.verify(set.json.secret), 'signed with the secret the command printed')

  const health = await bob.run(['webhook', sid])
  t.equal(health.code, 0, health.stderr)
  t.match(health.json, { webhook: { url: receiver.url } })
  t.notOk('secret' in health.json.webhook, 'the secret is not shown again')

  const removed = await bob.run(['webhook', sid, '--remove'])
  t.equal(removed.code, 0, removed.stderr)
  t.match(await bob.run(['webhook', sid]), { json: { webhook: null } })

  const both = await bob.run(['webhook', sid, receiver.url, '--remove'])
  t.equal(both.code, 1)
  const bad = await bob.run(['webhook', sid, 'ftp://example.com/hook'])
  t.equal(bad.code, 1)
  t.match(bad.json, { error: /invalid webhook URL/ })
})

t.test('claim --webhook sets the webhook with the membership', async (t) => {
  const receiver = await new Receiver().start()
  t.teardown(() => receiver.stop())
  const { alice, sid } = await pairedSession(t, server.base)
  const paired = await alice.run(['pair', sid])
  const { agent } = await import('./helpers.js')
  const carol = agent(t, server.base)
  const claimed = await carol.run(['claim', paired.json.code, '--agent-id', 'carol', '--webhook', receiver.url])
  t.equal(claimed.code, 0, claimed.stderr)
  t.match(claimed.json, { sessionId: sid, webhookSecret: /^whsec_/ })
  t.match(claimed.stderr, 'webhook set')
  t.equal((await alice.run(['send', sid, 'hello carol'])).code, 0)
  await until(() => receiver.texts().includes('hello carol'), 'the delivery')
  t.ok(receiver.verify(claimed.json.webhookSecret))
})
