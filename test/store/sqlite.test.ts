import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import t from 'tap'
import { hashSessionKey, newMessageId, newSessionId } from '../../src/core/ids.js'
import { FILE_NAME } from '../../src/store/sqlite/open.js'
import { APPLICATION_ID, migrate, migrations, readMarks, SCHEMA_VERSION } from '../../src/store/sqlite/schema.js'
import { SqliteStore } from '../../src/store/sqlite/store.js'
import { build, call, send } from '../helpers.js'
import { storeConformance } from './conformance.js'

/** The conformance suite, unchanged, on a SQLite file: a fresh directory per store. */
const root = mkdtempSync(join(tmpdir(), 'nexus-sqlite-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
let stores = 0

storeConformance(t, (limits) => new SqliteStore({ ...limits, dataDir: join(root, String(++stores)) }))

const T0 = Date.now()
const limits = { maxSessions: 1000, maxMessagesPerSession: 100 }
const key = (agentId: string) => hashSessionKey(`key-of-${agentId}`)
const draft = (agentId: string, text: string) => ({ id: newMessageId(), agentId, text, verified: false, redactions: [] as string[], bytes: text.length })

function freshDir(): string {
  return join(root, `case-${++stores}`)
}

t.test('a restart finds everything: sessions, members, keys, messages, codes, counters; cursors go on', async (t) => {
  const dir = freshDir()
  const id = newSessionId()
  const before = new SqliteStore({ ...limits, dataDir: dir })
  await before.create({ id, ttlSeconds: 60, maxAgents: 5, creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') }, greeting: { ...draft('system', 'hi'), verified: true } }, T0)
  await before.join(id, { agentId: 'b', keyHash: key('b') }, T0)
  await before.append(id, { ...draft('b', 'text'), redactions: ['aws_access_key'] }, key('b'), T0 + 1_000)
  await before.append(id, { ...draft('a', ''), text: undefined, json: { n: [1, null, 'x'] } }, key('a'), T0 + 2_000)
  await before.append(id, { ...draft('a', ''), text: undefined, json: null }, key('a'), T0 + 3_000)
  const code = { code: 'AMBER-OTTER-23456', sessionId: id, expiresAt: T0 + 600_000, claimedAt: null, forgetAt: T0 + 4_200_000 }
  await before.createCode(code, T0, 10)
  const statusBefore = await before.status(id, T0 + 3_000)
  await before.close()

  const after = new SqliteStore({ ...limits, dataDir: dir })
  t.teardown(() => after.close())
  t.same(await after.status(id, T0 + 3_000), statusBefore, 'the session and its members, expiresAt as stored')
  const page = await after.read(id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0 + 3_000)
  t.ok(page.ok)
  if (!page.ok) return
  t.same(
    page.messages.map((m) => [m.cursor, m.agentId, m.text, m.json, m.verified, m.redactions, m.createdAt]),
    [
      [0, 'system', 'hi', undefined, true, [], T0],
      [1, 'b', 'text', undefined, false, ['aws_access_key'], T0 + 1_000],
      [2, 'a', undefined, { n: [1, null, 'x'] }, false, [], T0 + 2_000],
      [3, 'a', undefined, null, false, [], T0 + 3_000],
    ],
  )
  t.same(await after.append(id, draft('b', 'x'), key('a'), T0 + 4_000), { ok: false, reason: 'bad_key' }, 'key digests kept')
  const next = await after.append(id, draft('b', 'next'), key('b'), T0 + 4_000)
  t.equal(next.ok && next.message.cursor, 4, 'the next cursor follows the last')
  t.same(await after.getCode(code.code, T0 + 4_000), code)
  t.ok((await after.claim(code.code, { agentId: 'c', keyHash: key('c') }, T0 + 4_000)).ok)
  t.same(await after.stats(T0 + 4_000), { activeSessions: 1, totalAgents: 3, totalMessages: 5, bytesHeld: 10 }, 'counts and the bytes held come back from the file')
  t.equal(await after.status(id, T0 + 4_000 + 60_000), null, 'the ttl runs from the stored expiresAt')
})

t.test('the file is WAL with incremental auto-vacuum, marked as Nexus at the current version', async (t) => {
  const dir = freshDir()
  const store = new SqliteStore({ ...limits, dataDir: dir })
  await store.close()
  const db = new Sqlite(join(dir, FILE_NAME), { readonly: true })
  t.teardown(() => db.close())
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'INCREMENTAL')
  t.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID)
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
})

t.test('a second store on the same directory is refused, naming the first', async (t) => {
  const dir = freshDir()
  const first = new SqliteStore({ ...limits, dataDir: dir })
  t.teardown(() => first.close())
  t.throws(() => new SqliteStore({ ...limits, dataDir: dir }), { name: 'StoreOpenError', message: new RegExp(`in use by another Nexus server \\(pid ${process.pid}, started `) })
  t.ok((await first.create({ id: newSessionId(), ttlSeconds: 60, maxAgents: 2, creatorAgentId: null }, T0)).ok, 'the first goes on')
})

t.test('files that are not a Nexus store of this version are refused, and left untouched', async (t) => {
  const foreign = freshDir()
  mkdirSync(foreign, { recursive: true })
  const other = new Sqlite(join(foreign, FILE_NAME))
  other.exec('CREATE TABLE invoices (n INTEGER)')
  other.close()
  const foreignBytes = readFileSync(join(foreign, FILE_NAME))
  t.throws(() => new SqliteStore({ ...limits, dataDir: foreign }), { name: 'StoreOpenError', message: /is a SQLite database of another program, not a Nexus store/ })
  t.same(readFileSync(join(foreign, FILE_NAME)), foreignBytes, 'the foreign file is not written to')

  const text = freshDir()
  mkdirSync(text, { recursive: true })
  writeFileSync(join(text, FILE_NAME), 'these are my notes, not a database\n'.repeat(100))
  t.throws(() => new SqliteStore({ ...limits, dataDir: text }), { name: 'StoreOpenError', message: /is not a Nexus store \(not a SQLite database\)/ })

  const newer = freshDir()
  await new SqliteStore({ ...limits, dataDir: newer }).close()
  const db = new Sqlite(join(newer, FILE_NAME))
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  db.close()
  t.throws(() => new SqliteStore({ ...limits, dataDir: newer }), {
    name: 'StoreOpenError',
    message: new RegExp(`was written by a newer Nexus \\(store version ${SCHEMA_VERSION + 1}; this one knows up to ${SCHEMA_VERSION}\\)`),
  })
})

t.test('a directory that cannot be created or written stops the start with its reason', async (t) => {
  const file = join(root, `plain-file-${++stores}`)
  writeFileSync(file, 'x')
  t.throws(() => new SqliteStore({ ...limits, dataDir: join(file, 'data') }), { name: 'StoreOpenError', message: /^DATA_DIR=".*" cannot be created: / })
  if (process.getuid?.() === 0) {
    t.comment('running as root: permissions do not stop root, so the unwritable case is not tried')
    return
  }
  const locked = freshDir()
  mkdirSync(locked, { recursive: true })
  chmodSync(locked, 0o500)
  t.teardown(() => chmodSync(locked, 0o700))
  t.throws(() => new SqliteStore({ ...limits, dataDir: locked }), { name: 'StoreOpenError', message: /^DATA_DIR=".*" is not writable: / })
})

t.test('a restart keeps the end of a session: its mark, its final message, and appends refused', async (t) => {
  const dir = freshDir()
  const id = newSessionId()
  const before = new SqliteStore({ ...limits, dataDir: dir })
  await before.create({ id, ttlSeconds: 60, maxAgents: 5, creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') } }, T0)
  await before.append(id, draft('a', 'last words'), key('a'), T0)
  const ended = await before.end(id, 'a', key('a'), { ...draft('system', 'a ended the session: done'), json: { endedBy: 'a', reason: 'done' }, verified: true }, 'done', T0 + 1_000)
  t.ok(ended.ok)
  await before.close()

  const after = new SqliteStore({ ...limits, dataDir: dir })
  t.teardown(() => after.close())
  t.same((await after.status(id, T0 + 2_000))?.session.ended, { by: 'a', reason: 'done', cursor: 2, at: T0 + 1_000 })
  const page = await after.read(id, { agentId: 'a', after: 1, limit: 10, withMembers: false }, T0 + 2_000)
  t.same(page.ok && page.messages.map((m) => [m.cursor, m.agentId, m.json]), [[2, 'system', { endedBy: 'a', reason: 'done' }]])
  t.same(await after.append(id, draft('a', 'again'), key('a'), T0 + 2_000), { ok: false, reason: 'ended' })
})

t.test('a file of version 1 is brought up to date, and sessions end on it', async (t) => {
  const dir = freshDir()
  mkdirSync(dir, { recursive: true })
  const db = new Sqlite(join(dir, FILE_NAME))
  migrate(db, { fresh: true, version: 0 }, migrations.filter((m) => m.version === 1))
  db.close()
  const store = new SqliteStore({ ...limits, dataDir: dir })
  t.teardown(() => store.close())
  const id = newSessionId()
  await store.create({ id, ttlSeconds: 60, maxAgents: 5, creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') } }, T0)
  t.equal((await store.status(id, T0))?.session.ended, null)
  t.ok((await store.end(id, 'a', key('a'), { ...draft('system', 'ended'), verified: true }, 'done', T0)).ok)
})

t.test('an older file is migrated at start, keeping its data, one transaction per version', async (t) => {
  const dir = freshDir()
  const store = new SqliteStore({ ...limits, dataDir: dir })
  const id = newSessionId()
  await store.create({ id, ttlSeconds: 60, maxAgents: 2, creatorAgentId: null }, T0)
  await store.close()
  const db = new Sqlite(join(dir, FILE_NAME))
  t.teardown(() => db.close())
  const later = [
    ...migrations,
    { version: SCHEMA_VERSION + 1, summary: 'a table for later', sql: 'CREATE TABLE later (x INTEGER)' },
    { version: SCHEMA_VERSION + 2, summary: 'a broken one', sql: 'CREATE TABLE later (x INTEGER)' },
  ]
  t.throws(() => migrate(db, readMarks(db, 'the file'), later), /already exists/)
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1, 'the migration that ran is kept; the broken one left nothing')
  t.equal((db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n, 1, 'the data is still there')
  t.same(migrate(db, { fresh: false, version: SCHEMA_VERSION + 1 }, later.slice(0, -1)), [], 'nothing left to run')
})

t.test('a full disk answers store_unavailable, and loses nothing already accepted', async (t) => {
  const dir = freshDir()
  const store = new SqliteStore({ ...limits, maxMessagesPerSession: 100_000, dataDir: dir, maxPages: 64 })
  const id = newSessionId()
  await store.create({ id, ttlSeconds: 600, maxAgents: 2, creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') } }, T0)
  const accepted: number[] = []
  let refusal: unknown
  for (let i = 0; i < 10_000 && refusal === undefined; i++) {
    try {
      const sent = await store.append(id, draft('a', `message ${i} `.repeat(20)), undefined, T0)
      if (sent.ok) accepted.push(sent.message.cursor)
    } catch (err) {
      refusal = err
    }
  }
  t.match(refusal, { code: 'store_unavailable', status: 503, retryAfter: 5 }, 'the write that did not fit is refused as an outage')
  t.ok(accepted.length > 10, `${accepted.length} messages accepted before the disk filled`)
  const page = await store.read(id, { agentId: 'a', after: -1, limit: 100_000, withMembers: false }, T0)
  t.same(page.ok && page.messages.map((m) => m.cursor), accepted, 'reads go on, with everything accepted')
  await store.close()

  const roomy = new SqliteStore({ ...limits, maxMessagesPerSession: 100_000, dataDir: dir })
  t.teardown(() => roomy.close())
  const next = await roomy.append(id, draft('a', 'room again'), undefined, T0)
  t.equal(next.ok && next.message.cursor, accepted.length + 1, 'the refused send took no cursor')
})

t.test('over HTTP a full disk is 503 store_unavailable with Retry-After', async (t) => {
  const store = new SqliteStore({ maxSessions: 100, maxMessagesPerSession: 100_000, dataDir: freshDir(), maxPages: 48 })
  t.teardown(() => store.close())
  const app = await build(t, {}, { store })
  const created = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  t.equal(created.status, 201)
  let reply = await send(app, created.body.sessionId, 'host', { text: 'x'.repeat(4000) })
  for (let i = 0; i < 500 && reply.status === 201; i++) reply = await send(app, created.body.sessionId, 'host', { text: 'x'.repeat(4000) })
  t.equal(reply.status, 503)
  t.equal(reply.body.error, 'store_unavailable')
  t.equal(reply.headers['retry-after'], '5')
  t.equal((await call(app, { method: 'GET', url: `/v1/sessions/${created.body.sessionId}` })).status, 200, 'reads still answer')
})

t.test('the sweep deletes in slices, yields between them, and gives the pages back', async (t) => {
  const dir = freshDir()
  const store = new SqliteStore({ maxSessions: 10_000, maxMessagesPerSession: 10_000, dataDir: dir })
  t.teardown(() => store.close())
  const big = newSessionId()
  await store.create({ id: big, ttlSeconds: 60, maxAgents: 2, creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') } }, T0)
  for (let i = 0; i < 5_000; i++) await store.append(big, draft('a', `long-lived session, message ${i}`), undefined, T0)
  const ids: string[] = []
  for (let i = 0; i < 3_000; i++) {
    const id = newSessionId()
    ids.push(id)
    await store.create({ id, ttlSeconds: 60, maxAgents: 2, creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') }, greeting: draft('system', 'hello there') }, T0)
  }
  const ended: string[] = []
  store.watch(big, { onSessionEvent: (event) => ended.push(event.type) })
  const pagesBefore = store.pages()
  let turns = 0
  const counting = setInterval(() => turns++, 0)
  const removed = await store.sweep(T0 + 60_000)
  clearInterval(counting)
  t.equal(removed, 3_001)
  t.ok(turns > 0, `the event loop ran ${turns} timer turns during the sweep`)
  t.same(ended, ['ended'], 'watchers of a swept session are told it ended')
  t.same(await store.stats(T0 + 60_000), { activeSessions: 0, totalAgents: 0, totalMessages: 8_000, bytesHeld: 0 })
  t.ok(store.pages() < pagesBefore / 4, `the file shrank from ${pagesBefore} to ${store.pages()} pages`)
  t.ok((await store.create({ id: big, ttlSeconds: 60, maxAgents: 2, creatorAgentId: null }, T0 + 60_000)).ok, 'no trace of a swept session is left')
})
