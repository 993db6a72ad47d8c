import t from 'tap'
import { makeFakes } from '../core/redact/fakes.js'
import { build, call, poll, send, twoAgents } from '../helpers.js'

/** The send path: every shape the redactor knows is replaced before the store ever sees it. */

t.test('each supported secret is redacted in text, with its type on the reply and the stored message', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const fakes = makeFakes()
  t.ok(fakes.length >= 40, `${fakes.length} shapes`)
  for (const fake of fakes) {
    const text = `here it is: ${fake.snippet} -- keep it safe`
    const sent = await send(app, sessionId, 'host', { text })
    t.equal(sent.status, 201, fake.type)
    t.ok(sent.body.redactions.includes(fake.type), `${fake.type}: reported (${sent.body.redactions})`)
    const page = await poll(app, sessionId, 'guest', `after=${Number(sent.body.cursor) - 1}`)
    const stored = page.body.messages[0]
    t.notOk(stored.text.includes(fake.secret), `${fake.type}: the secret is not stored`)
    t.match(stored.text, `[REDACTED:${fake.type}]`, `${fake.type}: replaced by its label`)
    t.ok(stored.text.startsWith('here it is: ') && stored.text.endsWith(' -- keep it safe'), `${fake.type}: the rest is kept`)
    t.same(stored.redactions, sent.body.redactions)
  }
})

t.test('secrets nested anywhere inside json are redacted; keys and other values are kept', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const fakes = makeFakes()
  const aws = fakes.find((f) => f.type === 'aws_access_key_id')!
  const jwt = fakes.find((f) => f.type === 'jwt')!
  const json = { config: { region: 'eu-west-1', keys: [aws.snippet, { token: `Bearer-less ${jwt.snippet}` }] }, count: 3, ok: true }
  const sent = await send(app, sessionId, 'host', { text: 'config attached', json })
  t.same([...sent.body.redactions].sort(), ['aws_access_key_id', 'jwt'])
  const stored = (await poll(app, sessionId, 'guest')).body.messages[0]
  t.equal(stored.text, 'config attached')
  t.equal(stored.json.config.region, 'eu-west-1')
  t.equal(stored.json.config.keys[0], '[REDACTED:aws_access_key_id]')
  t.match(stored.json.config.keys[1].token, '[REDACTED:jwt]')
  t.notMatch(JSON.stringify(stored.json), jwt.secret)
  t.same([stored.json.count, stored.json.ok], [3, true])
})

t.test('the greeting is redacted too, and ordinary text is untouched', async (t) => {
  const app = await build(t)
  const aws = makeFakes().find((f) => f.type === 'aws_access_key_id')!
  const { sessionId } = await twoAgents(app, { greeting: `use ${aws.snippet} to deploy` })
  const greeting = (await poll(app, sessionId, 'guest')).body.messages[0]
  t.equal(greeting.text, 'use [REDACTED:aws_access_key_id] to deploy')
  t.same(greeting.redactions, ['aws_access_key_id'])
  const plain = 'I forgot my password yesterday; commit 3f2c9a1b7e4d5c6b8a9f0e1d2c3b4a5f6e7d8c9b fixed it, see #ff8800 and v2.3.1'
  const sent = await send(app, sessionId, 'host', { text: plain })
  t.same(sent.body.redactions, [])
  t.equal((await poll(app, sessionId, 'guest', 'after=0')).body.messages[0].text, plain)
})

t.test('operators add their own patterns through REDACTION_PATTERNS', async (t) => {
  const app = await build(t, { REDACTION_PATTERNS: JSON.stringify([{ type: 'acme_ticket_key', pattern: 'ACME-[0-9]{8}' }]) })
  const { sessionId } = await twoAgents(app)
  const sent = await send(app, sessionId, 'host', { text: 'the key is ACME-12345678.' })
  t.same(sent.body.redactions, ['acme_ticket_key'])
  t.equal((await poll(app, sessionId, 'guest')).body.messages[0].text, 'the key is [REDACTED:acme_ticket_key].')
  await t.rejects(build(t, { REDACTION_PATTERNS: '[{"type":"x","pattern":"("}]' }), /REDACTION_PATTERNS/)
})

t.test('/health says redaction is on', async (t) => {
  const app = await build(t)
  const res = await call(app, { method: 'GET', url: '/health' })
  t.equal(res.body.capabilities.redaction, true)
})
