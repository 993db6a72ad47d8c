import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { NexusApiError, NexusTransportError } from '../../src/client/errors.js'
import { nexusError } from '../../src/core/errors.js'
import { describeFailure } from '../../src/mcp/errors.js'
import { decodeHandle, encodeHandle, HandleKeeper } from '../../src/mcp/handle.js'
import { parsePairingRef } from '../../src/mcp/links.js'
import { defaultStateDir, DiskKeeper } from '../../src/mcp/state-dir.js'

const SID = 'a'.repeat(48)
const KEY = 'b'.repeat(64)

t.test('pairing links and codes, as a person pastes them', async (t) => {
  t.same(parsePairingRef('OAK-RIVER-ABCDE'), { code: 'OAK-RIVER-ABCDE', base: undefined })
  t.same(parsePairingRef(' https://nexus.example.com/p/OAK-RIVER-ABCDE '), { code: 'OAK-RIVER-ABCDE', base: 'https://nexus.example.com' })
  t.same(parsePairingRef('<https://h.example/nexus/p/oak-river-abcde>.'), { code: 'oak-river-abcde', base: 'https://h.example/nexus' }, 'a path prefix is kept')
  t.same(parsePairingRef('http://127.0.0.1:8765/v1/pair/OAK-RIVER-ABCDE/skill'), { code: 'OAK-RIVER-ABCDE', base: 'http://127.0.0.1:8765' })
  for (const bad of ['', 'hello world', 'ftp://h/p/OAK-RIVER-ABCDE', 'https://h.example/', 'https://h.example/p/', 'https://h.example/p/a%2Fb']) {
    t.equal(parsePairingRef(bad), undefined, JSON.stringify(bad))
  }
})

t.test('a handle carries session, agent, key and cursor, and refuses anything else', async (t) => {
  const keeper = new HandleKeeper()
  const handle = await keeper.enter({ sessionId: SID, agentId: 'bob', sessionKey: KEY }, undefined)
  const held = await keeper.open(handle)
  t.same(held, { sessionId: SID, agentId: 'bob', sessionKey: KEY, cursor: undefined, server: undefined })
  const moved = await keeper.advance(handle, held, 7)
  t.equal((await keeper.open(moved)).cursor, 7)
  t.equal((await keeper.open(await keeper.advance(moved, await keeper.open(moved), 3))).cursor, 7, 'never backwards')
  const forged = [
    'nxh1.',
    `nxh2.${encodeHandle(held).slice(5)}`,
    `nxh1.${Buffer.from(JSON.stringify([SID, 'bob', KEY])).toString('base64url')}`,
    `nxh1.${Buffer.from(JSON.stringify([SID, 'system!', KEY, null])).toString('base64url')}`,
    `nxh1.${Buffer.from(JSON.stringify([SID, 'bob', 'short', null])).toString('base64url')}`,
    `nxh1.${Buffer.from(JSON.stringify([SID, 'bob', KEY, -1])).toString('base64url')}`,
    `nxh1.${'A'.repeat(2000)}`,
  ]
  for (const bad of forged) t.throws(() => decodeHandle(bad), { code: 'invalid_request' }, bad.slice(0, 40))
})

t.test('the disk keeper writes nexus.sh\'s layout and moves the cursor forward only', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'nexus-mcp-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const root = defaultStateDir({ HOME: home })
  t.equal(root, join(home, '.config', 'messaging'))
  t.equal(defaultStateDir({ HOME: home, XDG_CONFIG_HOME: '/x' }), '/x/messaging')
  const keeper = new DiskKeeper(root)
  const handle = await keeper.enter({ sessionId: SID, agentId: 'bob', sessionKey: KEY }, 'http://h.example', 0)
  t.equal(handle, SID)
  const dir = join(root, 'sessions', SID)
  t.equal(readFileSync(join(dir, 'cursor'), 'utf8'), '0\n')
  const held = await keeper.open(SID)
  await keeper.advance(SID, held, 5)
  writeFileSync(join(dir, 'cursor'), '9\n') // nexus.sh polled further meanwhile
  await keeper.advance(SID, held, 6)
  t.equal(readFileSync(join(dir, 'cursor'), 'utf8'), '9\n', 'a later poll of nexus.sh is not undone')
  writeFileSync(join(root, 'aliases.json'), JSON.stringify({ chat: SID, other: 'c'.repeat(48) }))
  t.equal((await keeper.open('chat')).sessionId, SID, 'an alias of nexus.sh names the session')
  await keeper.forget(SID, held)
  t.same(JSON.parse(readFileSync(join(root, 'aliases.json'), 'utf8')), { other: 'c'.repeat(48) }, 'its aliases go with it')
  await t.rejects(keeper.open(SID), { code: 'invalid_request' })
  await t.rejects(keeper.open('../x'), { code: 'invalid_request' })
})

t.test('every failure becomes a code and a next step, never a bug\'s insides', async (t) => {
  t.match(describeFailure(nexusError('session_not_found')), { error: 'session_not_found', nextStep: /new pairing link/ })
  t.match(describeFailure(new NexusApiError({ code: 'rate_limit_exceeded', status: 429, message: 'slow down', retryAfter: 7 })), { error: 'rate_limit_exceeded', retryAfter: 7 })
  t.match(describeFailure(new NexusTransportError('network_error', 'connect ECONNREFUSED')), { error: 'network_error', nextStep: /cannot be reached/ })
  const bug = describeFailure(new TypeError('secret internals at /some/path'))
  t.equal(bug.error, 'internal_error')
  t.notMatch(bug.message, /internals/)
})
