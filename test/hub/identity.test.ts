import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { hashSessionKey } from '../../src/core/ids.js'
import { fakeClock } from '../helpers.js'
import { agent, type Frame, hubServer, keyOf, openChat, rawClient, type RawClient } from './helpers.js'

/** What a stranger gets for a refused connect: one error frame, then the socket closed with 4401, and nothing else. */
async function refusedOutright(t: Parameters<typeof rawClient>[0], client: RawClient, what: string) {
  const { code } = await client.closed
  t.equal(code, 4401, `${what}: closed with 4401`)
  t.same(client.frames.map((f) => f.type), ['error'], `${what}: one error frame and nothing else`)
  t.match(client.frames[0], { error_code: 'invalid_api_key', frame: 'connect' }, what)
  return client.frames[0] as Frame
}

/** Opens a socket and sends `frames` at once, as a stranger trying everything would. */
async function stranger(t: Parameters<typeof rawClient>[0], url: string, frames: unknown[], headers: Record<string, string> = {}) {
  const client = await rawClient(t, url, { headers })
  for (const frame of frames) client.send(frame)
  return client
}

const snooping = [
  { type: 'chat_history', request_id: 'h1', service_id: 'payments', target_agent: 'alice-agent' },
  { type: 'register', service_id: 'payments' },
  { type: 'chat_request', request_id: 'r1', service_id: 'payments' },
  { type: 'chat_message', target_agent: 'alice-agent', content: 'send me the money' },
]

t.test('the first connect of an unknown id creates it and shows its key once; every later one must show it', async (t) => {
  const { hubUrl } = await hubServer(t)
  const first = await agent(t, hubUrl, 'bank-bot')
  const key = first.connected.agent_key as string
  t.match(key, /^[0-9a-f]{64}$/, '256 bits, as hex')
  await first.close()

  for (const [what, extra] of [['no key', {}], ['a wrong key', { api_key: 'f'.repeat(64) }], ['an empty key', { api_key: '' }]] as const) {
    const client = await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'bank-bot', ...extra }])
    await refusedOutright(t, client, `offline owner, ${what}`)
  }

  const back = await agent(t, hubUrl, 'bank-bot', { api_key: key })
  t.match(back.connected, { agent_id: 'bank-bot', resumed: false })
  t.notOk('agent_key' in back.connected, 'the key is shown only once')
  t.notOk('resume_token' in back.connected, 'no resume token: the key does its work')
})

t.test('a stranger learns nothing, owner online or offline: not its history, services, channels, nor whether it is online', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer } = await openChat(t, hubUrl, { provider: 'bank-bot', consumer: 'alice-agent', service: 'payments' })
  provider.send({ type: 'chat_message', service_id: 'payments', target_agent: 'alice-agent', content: 'your balance is 1000' })
  await consumer.next({ type: 'chat_message' })

  // Online: the same refusal as offline, and the owner's connection is untouched.
  const online = await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'alice-agent' }, ...snooping]), 'alice-agent online')
  const wrong = await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'bank-bot', api_key: 'x' }, ...snooping]), 'bank-bot online, wrong key')
  consumer.send({ type: 'ping' })
  await consumer.next({ type: 'pong' })
  t.equal(consumer.ws.readyState, consumer.ws.OPEN, 'the owner stays connected')

  await consumer.close()
  await provider.close()
  const offline = await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'alice-agent' }, ...snooping]), 'alice-agent offline')
  await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'bank-bot', api_key: 'x' }, ...snooping]), 'bank-bot offline, wrong key')
  t.same(online, offline, 'the refusal says the same whether the owner is online or not')
  t.same(wrong, offline, 'and whether a key was shown or not')

  // The service is still bank-bot's: a consumer's request reaches it once it is back.
  const bank = await agent(t, hubUrl, 'bank-bot')
  bank.send({ type: 'register', service_id: 'payments' })
  await bank.next({ type: 'registered' })
  const alice = await agent(t, hubUrl, 'alice-agent')
  alice.send({ type: 'chat_history', request_id: 'h2', service_id: 'payments' })
  t.match(await alice.next({ type: 'chat_history_response' }), { total: 1, messages: [{ content: 'your balance is 1000' }] }, 'the owner, with its key, reads its history')
  alice.send({ type: 'chat_request', request_id: 'r2', service_id: 'payments' })
  t.match(await bank.next({ type: 'chat_request' }), { consumer_id: 'alice-agent', request_id: 'r2' })
})

t.test('the right key takes over a live connection (the old one is closed with 4001)', async (t) => {
  const { hubUrl } = await hubServer(t)
  const { provider, consumer, channelId } = await openChat(t, hubUrl)
  const heir = await rawClient(t, hubUrl)
  heir.send({ type: 'connect', agent_id: 'alice', api_key: keyOf(hubUrl, 'alice'), resume_token: 'ignored by now' })
  const connected = await heir.next({ type: 'connected' })
  t.match(connected, { agent_id: 'alice', resumed: true })
  t.not(connected.client_id, consumer.connected.client_id)
  t.same(await consumer.closed, { code: 4001, reason: 'another connection took over this agent id' }, 'the old connection is closed')

  provider.send({ type: 'chat_message', channel_id: channelId, content: 'to the new one' })
  t.match(await heir.next({ type: 'chat_message' }), { content: 'to the new one' })
  t.equal((await provider.next({ type: 'chat_message_ack' })).status, 'delivered')
  heir.send({ type: 'chat_message', channel_id: channelId, content: 'and back' })
  t.match(await heir.next({ type: 'chat_message_ack' }), { status: 'delivered', verified: true }, 'the key the hub holds for alice still signs')
})

t.test('two first connects of one unknown id at once: exactly one gets the key', async (t) => {
  const { hubUrl } = await hubServer(t)
  const clients = await Promise.all(Array.from({ length: 5 }, () => stranger(t, hubUrl, [{ type: 'connect', agent_id: 'twin' }])))
  const answers = await Promise.all(clients.map((c) => c.next((f) => f.type === 'connected' || f.type === 'error')))
  t.equal(answers.filter((f) => f.type === 'connected').length, 1, 'one identity')
  t.ok(answers.filter((f) => f.type === 'error').every((f) => f.error_code === 'invalid_api_key'), 'the others are refused')
})

t.test('on the upgrade: X-Agent-Id with X-Api-Key, or ?agent_id= with the key in the first frame; never a key in the URL', async (t) => {
  const { hubUrl } = await hubServer(t)
  const byQuery = await rawClient(t, `${hubUrl}/?agent_id=lee`)
  const created = await byQuery.next({ type: 'connected' })
  t.match(created, { agent_id: 'lee', agent_key: /^[0-9a-f]{64}$/ }, 'an unknown id is created from the upgrade too')
  const key = created.agent_key as string

  const byHeader = await rawClient(t, `${hubUrl}/v1/hub`, { headers: { 'x-agent-id': 'lee', 'x-api-key': key } })
  t.match(await byHeader.next({ type: 'connected' }), { agent_id: 'lee', resumed: true })
  byHeader.send({ type: 'connect', agent_id: 'lee' })
  t.match(await byHeader.next({ type: 'connected' }), { agent_id: 'lee' }, 'saying it again on the same connection is harmless')
  byHeader.send({ type: 'connect', agent_id: 'someone-else' })
  t.match(await byHeader.next({ type: 'error' }), { error_code: 'invalid_request' }, 'but a connection speaks for one agent')

  await refusedOutright(t, await stranger(t, `${hubUrl}/v1/hub`, [], { 'x-agent-id': 'lee', 'x-api-key': 'wrong' }), 'a wrong X-Api-Key')

  // The id in the URL, no key header: the hub waits for the key in the first frame.
  const browser = await rawClient(t, `${hubUrl}/?agent_id=lee`)
  t.same(await browser.drain(undefined, 300), [], 'nothing said yet, to anyone without the key')
  browser.send({ type: 'connect', agent_id: 'lee', api_key: key })
  t.match(await browser.next({ type: 'connected' }), { agent_id: 'lee' })
  const nosy = await rawClient(t, `${hubUrl}/?agent_id=lee`)
  nosy.send({ type: 'connect', agent_id: 'lee', api_key: 'guess' })
  await refusedOutright(t, nosy, 'the first frame with a wrong key')

  const leaky = await rawClient(t, `${hubUrl}/?agent_id=lee&api_key=${key}`)
  t.match(await leaky.next({ type: 'error' }), { error_code: 'invalid_request', message: /never read from the URL/ })
  leaky.send({ type: 'ping' })
  await leaky.next({ type: 'pong' })
  t.notOk(leaky.frames.some((f) => f.type === 'connected'), 'a key in the URL connects nothing')
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

t.test('provisioned identities, with open registration switched off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-identities-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'identities')
  // As an operator would: the command prints a new key and the file's line for it.
  const made = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'src/hub-identity.ts', '--json', 'bank-bot'], {
    cwd: new URL('../../', import.meta.url).pathname,
    encoding: 'utf8',
  }))
  const key = made.agent_key as string
  t.match(key, /^[0-9a-f]{64}$/)
  t.equal(made.line, `bank-bot ${hashSessionKey(key)}`, 'the line holds the digest, never the key')
  writeFileSync(file, `# provisioned\n${made.line}\n`)
  const { hubUrl } = await hubServer(t, { HUB_OPEN_REGISTRATION: 'false', HUB_IDENTITIES: file })

  const bank = await agent(t, hubUrl, 'bank-bot', { api_key: key })
  t.notOk('agent_key' in bank.connected, 'a provisioned id is never handed a key')
  await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'bank-bot' }]), 'a provisioned id without its key')
  await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'newcomer' }]), 'an unknown id while registration is closed')
})

t.test('an identity unused for HUB_IDENTITY_TTL_DAYS is forgotten; one held live is not', async (t) => {
  const clock = fakeClock()
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', HUB_IDENTITY_TTL_DAYS: '1', HUB_PING_SECONDS: '1' }), { logger: false, clock: clock.now })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const hubUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const gone = await agent(t, hubUrl, 'gone-bot')
  await gone.close()
  const stay = await agent(t, hubUrl, 'stay-bot')
  const staysKey = stay.connected.agent_key as string

  clock.advance(2 * 24 * 60 * 60 * 1000)
  // The hub sweeps on its next tick (every HUB_PING_SECONDS); a keyless connect succeeds once the id is forgotten.
  let fresh: Frame | undefined
  const deadline = Date.now() + 10_000
  while (fresh === undefined && Date.now() < deadline) {
    const client = await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'gone-bot' }])
    const answer = await client.next((f) => f.type === 'connected' || f.type === 'error')
    if (answer.type === 'connected') fresh = answer
    else await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(fresh, { agent_id: 'gone-bot', agent_key: /^[0-9a-f]{64}$/ }, 'the forgotten id was registered afresh')

  await refusedOutright(t, await stranger(t, hubUrl, [{ type: 'connect', agent_id: 'stay-bot' }]), 'the connected one was kept')
  const again = await agent(t, hubUrl, 'stay-bot', { api_key: staysKey })
  t.equal(again.connected.resumed, true)
})
