import type { Test } from 'tap'
import { hashSessionKey, newMessageId, newSessionId } from '../../src/core/ids.js'
import type { MessageDraft, NewSession, SessionEvent, SessionStore, StoreLimits } from '../../src/store/store.js'

/**
 * The behaviour every SessionStore must show. A store is done when it passes this suite
 * unchanged: `storeConformance(t, (limits) => new SomeStore(limits))`.
 */
export type StoreFactory = (limits: StoreLimits) => Promise<SessionStore> | SessionStore

const limits: StoreLimits = { maxSessions: 1000, maxMessagesPerSession: 100 }
const T0 = Date.now()
/** Pending codes a session may hold, as the core passes it. */
const MAX_PENDING = 10
const key = (agentId: string) => hashSessionKey(`key-of-${agentId}`)
const draft = (agentId: string, text: string, bytes = text.length): MessageDraft => ({ id: newMessageId(), agentId, text, verified: false, redactions: [], bytes })

function session(overrides: Partial<NewSession> = {}): NewSession {
  return { id: newSessionId(), ttlSeconds: 60, maxAgents: 5, creatorAgentId: null, ...overrides }
}

export function storeConformance(t: Test, factory: StoreFactory): void {
  async function open(t: Test, custom: Partial<StoreLimits> = {}): Promise<SessionStore> {
    const store = await factory({ ...limits, ...custom })
    t.teardown(() => store.close())
    return store
  }

  t.test('create joins the creator and stores the greeting at cursor 0', async (t) => {
    const store = await open(t)
    const input = session({
      creatorAgentId: 'alice',
      creator: { agentId: 'alice', keyHash: key('alice') },
      greeting: { ...draft('system', 'welcome'), verified: true },
    })
    const created = await store.create(input, T0)
    t.ok(created.ok)
    if (!created.ok) return
    t.equal(created.session.expiresAt, T0 + 60_000)
    t.equal(created.session.lastCursor, 0)
    const status = await store.status(input.id, T0)
    t.same(status?.members.map((m) => m.agentId), ['alice'])
    const read = await store.read(input.id, { agentId: 'alice', after: -1, limit: 10, withMembers: false }, T0)
    t.ok(read.ok)
    if (!read.ok) return
    t.equal(read.messages.length, 1)
    t.equal(read.messages[0]?.cursor, 0)
    t.equal(read.messages[0]?.text, 'welcome')
  })

  t.test('without a greeting, messages count from 1', async (t) => {
    const store = await open(t)
    const input = session({ creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') } })
    await store.create(input, T0)
    const sent = await store.append(input.id, draft('a', 'one'), undefined, T0)
    t.ok(sent.ok && sent.message.cursor === 1)
    const read = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0)
    t.same(read.ok && read.messages.map((m) => m.cursor), [1])
  })

  t.test('create refuses beyond maxSessions, and counts only live sessions', async (t) => {
    const store = await open(t, { maxSessions: 2 })
    t.ok((await store.create(session(), T0)).ok)
    t.ok((await store.create(session(), T0)).ok)
    t.same(await store.create(session(), T0), { ok: false, reason: 'capacity' })
    await store.sweep(T0 + 61_000)
    t.ok((await store.create(session(), T0 + 61_000)).ok, 'expired sessions free their slot')
  })

  t.test('join: full, taken, unknown, and sliding expiry', async (t) => {
    const store = await open(t)
    const input = session({ maxAgents: 2 })
    await store.create(input, T0)
    const first = await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0 + 10_000)
    t.ok(first.ok)
    if (first.ok) {
      t.equal(first.agentCount, 1)
      t.equal(first.session.expiresAt, T0 + 70_000, 'join slides expiry')
    }
    t.same(await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0), { ok: false, reason: 'agent_id_taken' })
    t.ok((await store.join(input.id, { agentId: 'b', keyHash: key('b') }, T0)).ok)
    t.same(await store.join(input.id, { agentId: 'c', keyHash: key('c') }, T0), { ok: false, reason: 'session_full' })
    t.same(await store.join(newSessionId(), { agentId: 'c', keyHash: key('c') }, T0), { ok: false, reason: 'session_not_found' })
  })

  t.test('append: members only, key checked, cursors consecutive, expiry slides', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    t.same(await store.append(input.id, draft('z', 'x'), undefined, T0), { ok: false, reason: 'not_member' })
    t.same(await store.append(input.id, draft('a', 'x'), key('someone-else'), T0), { ok: false, reason: 'bad_key' })
    const withKey = await store.append(input.id, draft('a', 'one'), key('a'), T0 + 5_000)
    t.ok(withKey.ok)
    if (withKey.ok) {
      t.equal(withKey.message.cursor, 1)
      t.equal(withKey.message.createdAt, T0 + 5_000)
      t.equal(withKey.session.expiresAt, T0 + 65_000)
      t.equal(withKey.session.lastCursor, 1)
    }
    const without = await store.append(input.id, draft('a', 'two'), undefined, T0 + 6_000)
    t.ok(without.ok && without.message.cursor === 2)
    t.same(await store.append(newSessionId(), draft('a', 'x'), undefined, T0), { ok: false, reason: 'session_not_found' })
  })

  t.test('end: the final message and the mark in one step; appends and ends after it answer ended', async (t) => {
    const store = await open(t)
    const input = session({ creatorAgentId: 'a', creator: { agentId: 'a', keyHash: key('a') } })
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'b', keyHash: key('b') }, T0)
    await store.append(input.id, draft('a', 'one'), undefined, T0)
    const events: SessionEvent[] = []
    const watcher = { onSessionEvent: (event: SessionEvent) => events.push(event) }
    store.watch(input.id, watcher)
    t.teardown(() => store.unwatch(input.id, watcher))
    const final = () => ({ ...draft('system', 'b ended the session: done'), json: { endedBy: 'b', reason: 'done' }, verified: true })
    t.same(await store.end(input.id, 'z', undefined, final(), 'done', T0), { ok: false, reason: 'not_member' })
    t.same(await store.end(input.id, 'b', key('someone-else'), final(), 'done', T0), { ok: false, reason: 'bad_key' })
    t.same(await store.end(newSessionId(), 'b', key('b'), final(), 'done', T0), { ok: false, reason: 'session_not_found' })
    const status = await store.status(input.id, T0)
    t.equal(status?.session.ended, null, 'open until ended')
    const ended = await store.end(input.id, 'b', key('b'), final(), 'done', T0 + 5_000)
    t.ok(ended.ok)
    if (!ended.ok) return
    t.equal(ended.message.cursor, 2, 'the final message takes the next cursor')
    t.equal(ended.message.agentId, 'system')
    t.same(ended.message.json, { endedBy: 'b', reason: 'done' })
    t.same(ended.session.ended, { by: 'b', reason: 'done', cursor: 2, at: T0 + 5_000 })
    t.equal(ended.session.lastCursor, 2)
    t.equal(ended.session.expiresAt, T0 + 65_000, 'ending slides expiry as a send does')

    t.same(await store.append(input.id, draft('a', 'too late'), undefined, T0 + 6_000), { ok: false, reason: 'ended' })
    t.same(await store.end(input.id, 'a', key('a'), final(), 'again', T0 + 6_000), { ok: false, reason: 'ended' }, 'ending twice changes nothing')
    t.same(await store.append(input.id, draft('z', 'x'), undefined, T0), { ok: false, reason: 'not_member' }, 'membership is checked first')

    const read = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0 + 7_000)
    t.ok(read.ok)
    if (read.ok) {
      t.same(read.messages.map((m) => [m.cursor, m.agentId]), [[1, 'a'], [2, 'system']], 'the final message is the last, once')
      t.same(read.session.ended, { by: 'b', reason: 'done', cursor: 2, at: T0 + 5_000 })
    }
    t.same((await store.status(input.id, T0 + 7_000))?.session.ended, { by: 'b', reason: 'done', cursor: 2, at: T0 + 5_000 })
    const renewed = await store.renew(input.id, 'a', undefined, T0 + 8_000)
    t.ok(renewed.ok && renewed.session.ended?.cursor === 2, 'renew goes on, and says it ended')
    await waitFor(() => events.length >= 1)
    t.same(events.map((e) => [e.type, e.type === 'message' ? e.cursor : -1]), [['message', 2]], 'watchers are told of the final message')
    t.equal(await store.status(input.id, T0 + 70_000), null, 'an ended session still expires')
  })

  t.test('of concurrent ends exactly one wins', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    const agents = ['a', 'b', 'c', 'd']
    for (const agent of agents) await store.join(input.id, { agentId: agent, keyHash: key(agent) }, T0)
    const results = await Promise.all(agents.map((agent) => store.end(input.id, agent, undefined, { ...draft('system', `${agent} ended`), verified: true }, agent, T0)))
    const won = results.filter((r) => r.ok)
    t.equal(won.length, 1)
    t.equal(results.filter((r) => !r.ok && r.reason === 'ended').length, 3)
    const status = await store.status(input.id, T0)
    t.equal(status?.session.lastCursor, 1, 'one final message')
    t.equal(status?.session.ended?.by, won[0]!.ok ? won[0]!.session.ended?.by : '')
  })

  t.test('concurrent appends get distinct consecutive cursors', async (t) => {
    const store = await open(t, { maxMessagesPerSession: 1000 })
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(input.id, draft('a', `m${i}`), undefined, T0)))
    const cursors = results.map((r) => (r.ok ? r.message.cursor : -1)).sort((x, y) => x - y)
    t.same(cursors, Array.from({ length: 200 }, (_, i) => i + 1))
  })

  t.test('read: after is exclusive, limit and hasMore, members, lastSeenAt', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    await store.join(input.id, { agentId: 'b', keyHash: key('b') }, T0)
    for (let i = 1; i <= 5; i++) await store.append(input.id, draft('a', `m${i}`), undefined, T0)
    const page = await store.read(input.id, { agentId: 'b', after: 2, limit: 2, withMembers: true }, T0 + 1_000)
    t.ok(page.ok)
    if (!page.ok) return
    t.same(page.messages.map((m) => m.text), ['m3', 'm4'])
    t.equal(page.hasMore, true)
    t.equal(page.droppedThrough, -1)
    t.same(page.members?.map((m) => m.agentId).sort(), ['a', 'b'])
    t.equal(page.session.expiresAt, T0 + 60_000, 'reading does not slide expiry')
    const seen = await store.status(input.id, T0 + 2_000)
    t.equal(seen?.members.find((m) => m.agentId === 'b')?.lastSeenAt, T0 + 1_000, 'read sets lastSeenAt')
    const rest = await store.read(input.id, { agentId: 'b', after: 4, limit: 10, withMembers: false }, T0)
    t.same(rest.ok && rest.messages.map((m) => m.text), ['m5'])
    t.equal(rest.ok && rest.hasMore, false)
    t.equal(rest.ok && rest.members, undefined)
    const beyond = await store.read(input.id, { agentId: 'b', after: 99, limit: 10, withMembers: false }, T0)
    t.same(beyond.ok && beyond.messages, [])
    t.same(await store.read(input.id, { agentId: 'z', after: -1, limit: 10, withMembers: false }, T0), { ok: false, reason: 'not_member' })
  })

  t.test('the oldest messages are dropped beyond maxMessagesPerSession, and reported', async (t) => {
    const store = await open(t, { maxMessagesPerSession: 3 })
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    for (let i = 1; i <= 5; i++) await store.append(input.id, draft('a', `m${i}`), undefined, T0)
    const page = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0)
    t.ok(page.ok)
    if (!page.ok) return
    t.same(page.messages.map((m) => m.cursor), [3, 4, 5])
    t.equal(page.oldestCursor, 3)
    t.equal(page.droppedThrough, 2)
  })

  t.test('read: maxBytes stops a page, but never before its first message', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    for (let i = 1; i <= 5; i++) await store.append(input.id, draft('a', `m${i}`, 100), undefined, T0)
    const cut = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, maxBytes: 250, withMembers: false }, T0)
    t.same(cut.ok && cut.messages.map((m) => m.text), ['m1', 'm2'])
    t.equal(cut.ok && cut.hasMore, true, 'the budget cut the page')
    t.same(cut.ok && cut.messages.map((m) => m.bytes), [100, 100], 'each message keeps the bytes it was charged')
    const exact = await store.read(input.id, { agentId: 'a', after: 2, limit: 10, maxBytes: 300, withMembers: false }, T0)
    t.same(exact.ok && exact.messages.map((m) => m.text), ['m3', 'm4', 'm5'], 'a budget met exactly still holds the message')
    t.equal(exact.ok && exact.hasMore, false)
    const tiny = await store.read(input.id, { agentId: 'a', after: 0, limit: 10, maxBytes: 10, withMembers: false }, T0)
    t.same(tiny.ok && tiny.messages.map((m) => m.text), ['m1'], 'one message over the budget is still returned alone')
    t.equal(tiny.ok && tiny.hasMore, true)
  })

  t.test('the oldest messages are dropped beyond maxSessionBytes; the newest is always kept', async (t) => {
    const store = await open(t, { maxSessionBytes: 300 })
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    for (let i = 1; i <= 5; i++) t.ok((await store.append(input.id, draft('a', `m${i}`, 100), undefined, T0)).ok)
    const page = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0)
    t.same(page.ok && page.messages.map((m) => m.cursor), [3, 4, 5])
    t.equal(page.ok && page.droppedThrough, 2)
    t.equal(page.ok && page.oldestCursor, 3)
    t.ok((await store.append(input.id, draft('a', 'big', 1000), undefined, T0)).ok, 'a message larger than the cap is kept alone')
    const after = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0)
    t.same(after.ok && after.messages.map((m) => m.text), ['big'])
    t.equal(after.ok && after.droppedThrough, 5)
    t.ok((await store.append(input.id, draft('a', 'm7', 100), undefined, T0)).ok)
    const last = await store.read(input.id, { agentId: 'a', after: -1, limit: 10, withMembers: false }, T0)
    t.same(last.ok && last.messages.map((m) => m.text), ['m7'], 'and then pushed out by the next')
  })

  t.test('an append past maxStoreBytes is refused and changes nothing; expired sessions give their bytes back', async (t) => {
    const store = await open(t, { maxSessionBytes: 1000, maxStoreBytes: 1000 })
    const short = session()
    const long = session({ ttlSeconds: 120 })
    await store.create(short, T0)
    await store.create(long, T0)
    await store.join(short.id, { agentId: 'a', keyHash: key('a') }, T0)
    await store.join(long.id, { agentId: 'b', keyHash: key('b') }, T0)
    t.ok((await store.append(short.id, draft('a', 'first', 600), undefined, T0)).ok)
    t.same(await store.append(long.id, draft('b', 'second', 600), undefined, T0), { ok: false, reason: 'capacity' })
    const untouched = await store.read(long.id, { agentId: 'b', after: -1, limit: 10, withMembers: false }, T0)
    t.ok(untouched.ok)
    if (untouched.ok) {
      t.same(untouched.messages, [], 'the refused message was not stored')
      t.equal(untouched.session.lastCursor, 0, 'nor numbered')
    }
    t.ok((await store.append(long.id, draft('b', 'small', 400), undefined, T0)).ok, 'what still fits is taken')
    t.equal((await store.stats(T0)).bytesHeld, 1000, 'stats tell the bytes held')
    t.ok((await store.append(long.id, draft('b', 'third', 600), undefined, T0 + 61_000)).ok, 'the expired session no longer counts')
    t.equal((await store.stats(T0 + 61_000)).bytesHeld, 1000, 'its bytes came back: only the live session\'s are held')
  })

  t.test('renew: members only, new ttl, expiry from now', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    t.same(await store.renew(input.id, 'z', undefined, T0), { ok: false, reason: 'not_member' })
    const renewed = await store.renew(input.id, 'a', 120, T0 + 30_000)
    t.ok(renewed.ok)
    if (renewed.ok) {
      t.equal(renewed.session.ttlSeconds, 120)
      t.equal(renewed.session.expiresAt, T0 + 150_000)
      t.same(renewed.agents, ['a'])
    }
  })

  t.test('leave: the checks in their order, and messages stay', async (t) => {
    const store = await open(t)
    const input = session({ creatorAgentId: 'owner', creator: { agentId: 'owner', keyHash: key('owner') } })
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    await store.append(input.id, draft('a', 'bye soon'), undefined, T0)
    t.same(await store.leave(newSessionId(), 'a', key('a'), T0), { ok: false, reason: 'session_not_found' })
    t.same(await store.leave(input.id, 'owner', key('owner'), T0), { ok: false, reason: 'creator' })
    t.same(await store.leave(input.id, 'nobody', key('nobody'), T0), { ok: false, reason: 'agent_not_found' })
    t.same(await store.leave(input.id, 'a', key('wrong'), T0), { ok: false, reason: 'bad_key' })
    t.ok((await store.leave(input.id, 'a', key('a'), T0)).ok)
    const status = await store.status(input.id, T0)
    t.same(status?.members.map((m) => m.agentId), ['owner'])
    const page = await store.read(input.id, { agentId: 'owner', after: -1, limit: 10, withMembers: false }, T0)
    t.same(page.ok && page.messages.map((m) => m.text), ['bye soon'])
  })

  t.test('removeIdleMembers spares the creator and the active', async (t) => {
    const store = await open(t)
    const input = session({ creatorAgentId: 'owner', creator: { agentId: 'owner', keyHash: key('owner') } })
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'idle', keyHash: key('idle') }, T0)
    await store.join(input.id, { agentId: 'busy', keyHash: key('busy') }, T0)
    await store.read(input.id, { agentId: 'busy', after: -1, limit: 1, withMembers: false }, T0 + 20_000)
    const removed = await store.removeIdleMembers(input.id, T0 + 10_000, T0 + 25_000)
    t.same(removed, ['idle'])
    t.same((await store.status(input.id, T0 + 25_000))?.members.map((m) => m.agentId).sort(), ['busy', 'owner'])
  })

  t.test('expiry: an expired session is gone for every method, and swept', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    const later = T0 + 60_000
    t.equal(await store.status(input.id, later), null)
    t.same(await store.append(input.id, draft('a', 'x'), undefined, later), { ok: false, reason: 'session_not_found' })
    t.same(await store.read(input.id, { agentId: 'a', after: -1, limit: 1, withMembers: false }, later), { ok: false, reason: 'session_not_found' })
    t.same(await store.join(input.id, { agentId: 'b', keyHash: key('b') }, later), { ok: false, reason: 'session_not_found' })
    t.same(await store.renew(input.id, 'a', undefined, later), { ok: false, reason: 'session_not_found' })
    await store.sweep(later)
    t.equal((await store.stats(later)).activeSessions, 0)
  })

  t.test('pairing codes: create, claim once, status, join failures do not spend', async (t) => {
    const store = await open(t)
    const input = session({ maxAgents: 2, creatorAgentId: 'owner', creator: { agentId: 'owner', keyHash: key('owner') } })
    await store.create(input, T0)
    const record = { code: 'AMBER-OTTER-23456', sessionId: input.id, expiresAt: T0 + 600_000, claimedAt: null, forgetAt: T0 + 4_200_000 }
    t.same(await store.createCode(record, T0, MAX_PENDING), { ok: true })
    t.same(await store.createCode(record, T0, MAX_PENDING), { ok: false, reason: 'exists' })
    t.same(await store.createCode({ ...record, code: 'AMBER-OTTER-33333', sessionId: newSessionId() }, T0, MAX_PENDING), { ok: false, reason: 'session_not_found' })
    t.same(await store.claim(record.code, { agentId: 'owner', keyHash: key('owner') }, T0), { ok: false, reason: 'agent_id_taken' })
    t.equal((await store.getCode(record.code, T0))?.claimedAt, null, 'a failed join leaves the code pending')
    const won = await store.claim(record.code, { agentId: 'guest', keyHash: key('guest') }, T0 + 1_000)
    t.ok(won.ok)
    if (won.ok) t.equal(won.agentCount, 2)
    t.same(await store.claim(record.code, { agentId: 'late', keyHash: key('late') }, T0), { ok: false, reason: 'code_expired_or_used' })
    t.equal((await store.getCode(record.code, T0 + 2_000))?.claimedAt, T0 + 1_000)
    t.same(await store.claim('NOBODY-KNOWS-22222', { agentId: 'x', keyHash: key('x') }, T0), { ok: false, reason: 'code_not_found' })
    t.equal(await store.getCode(record.code, T0 + 4_200_000), null, 'forgotten after forgetAt')
  })

  t.test('a full session does not spend the code', async (t) => {
    const store = await open(t)
    const input = session({ maxAgents: 2 })
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    await store.join(input.id, { agentId: 'b', keyHash: key('b') }, T0)
    const record = { code: 'CEDAR-PLUM-44444', sessionId: input.id, expiresAt: T0 + 600_000, claimedAt: null, forgetAt: T0 + 4_200_000 }
    await store.createCode(record, T0, MAX_PENDING)
    t.same(await store.claim(record.code, { agentId: 'c', keyHash: key('c') }, T0), { ok: false, reason: 'session_full' })
    t.equal((await store.getCode(record.code, T0))?.claimedAt, null)
  })

  t.test('of 100 concurrent claims exactly one wins', async (t) => {
    const store = await open(t)
    const input = session({ maxAgents: 50 })
    await store.create(input, T0)
    const record = { code: 'MAPLE-RIVER-55555', sessionId: input.id, expiresAt: T0 + 600_000, claimedAt: null, forgetAt: T0 + 4_200_000 }
    await store.createCode(record, T0, MAX_PENDING)
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.claim(record.code, { agentId: `agent${i}`, keyHash: key(`agent${i}`) }, T0)),
    )
    t.equal(results.filter((r) => r.ok).length, 1)
    t.equal(results.filter((r) => !r.ok && r.reason === 'code_expired_or_used').length, 99)
    t.equal((await store.status(input.id, T0))?.members.length, 1)
  })

  t.test('an expired code, and the codes of an ended session, can no longer be claimed', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    const record = { code: 'OPAL-WOLF-66666', sessionId: input.id, expiresAt: T0 + 30_000, claimedAt: null, forgetAt: T0 + 3_630_000 }
    await store.createCode(record, T0, MAX_PENDING)
    t.same(await store.claim(record.code, { agentId: 'a', keyHash: key('a') }, T0 + 30_000), { ok: false, reason: 'code_expired_or_used' })

    const other = session()
    await store.create(other, T0)
    const second = { code: 'OPAL-WOLF-77777', sessionId: other.id, expiresAt: T0 + 600_000, claimedAt: null, forgetAt: T0 + 4_200_000 }
    await store.createCode(second, T0, MAX_PENDING)
    await store.sweep(T0 + 60_000)
    const after = await store.getCode(second.code, T0 + 60_000)
    t.ok(after && after.expiresAt <= T0 + 60_000, 'the code expires with its session')
    const claim = await store.claim(second.code, { agentId: 'a', keyHash: key('a') }, T0 + 60_000)
    t.notOk(claim.ok)
  })

  t.test('read and renew check a key digest when one is given, and change nothing when it is wrong', async (t) => {
    const store = await open(t)
    const input = session({ creatorAgentId: 'owner', creator: { agentId: 'owner', keyHash: key('owner') } })
    await store.create(input, T0)
    await store.append(input.id, draft('owner', 'hello'), undefined, T0)
    const read = (keyHash: string | undefined, now: number) =>
      store.read(input.id, { agentId: 'owner', after: -1, limit: 10, withMembers: true, ...(keyHash !== undefined ? { keyHash } : {}) }, now)
    t.same(await read(key('someone else'), T0 + 5_000), { ok: false, reason: 'bad_key' })
    t.equal((await store.status(input.id, T0 + 5_000))?.members[0]?.lastSeenAt, T0, 'a refused read does not count as seen')
    const good = await read(key('owner'), T0 + 6_000)
    t.ok(good.ok && good.messages.length === 1, 'the right key reads')
    t.ok((await read(undefined, T0 + 7_000)).ok, 'no key given: no key checked')
    t.same(await store.read(input.id, { agentId: 'nobody', after: -1, limit: 1, withMembers: false, keyHash: key('nobody') }, T0), { ok: false, reason: 'not_member' }, 'membership is checked first')

    t.same(await store.renew(input.id, 'owner', 600, T0 + 8_000, key('someone else')), { ok: false, reason: 'bad_key' })
    t.equal((await store.status(input.id, T0 + 8_000))?.session.ttlSeconds, 60, 'a refused renew changes nothing')
    const renewed = await store.renew(input.id, 'owner', 600, T0 + 9_000, key('owner'))
    t.ok(renewed.ok && renewed.session.ttlSeconds === 600 && renewed.session.expiresAt === T0 + 609_000)
    t.ok((await store.renew(input.id, 'owner', undefined, T0 + 9_000)).ok, 'no key given: no key checked')
    t.same(await store.renew(input.id, 'nobody', undefined, T0 + 9_000, key('nobody')), { ok: false, reason: 'not_member' })
  })

  t.test('a session holds at most maxPending pending codes; spent and expired ones make room', async (t) => {
    const store = await open(t)
    const input = session({ ttlSeconds: 3600 })
    await store.create(input, T0)
    const code = (n: number, expiresAt = T0 + 600_000) => ({ code: `LIME-KELP-${'2345678'[n % 7]!.repeat(4)}${'ABCDEFG'[n % 7]}`, sessionId: input.id, expiresAt, claimedAt: null, forgetAt: expiresAt + 3_600_000 })
    t.same(await store.createCode(code(0, T0 + 30_000), T0, 3), { ok: true })
    t.same(await store.createCode(code(1), T0, 3), { ok: true })
    t.same(await store.createCode(code(2), T0, 3), { ok: true })
    t.same(await store.createCode(code(3), T0, 3), { ok: false, reason: 'too_many' }, 'the fourth pending code is refused')
    t.equal(await store.getCode(code(3).code, T0), null, 'and not stored')
    t.same(await store.createCode(code(3), T0 + 30_000, 3), { ok: true }, 'an expired code makes room')
    t.same(await store.createCode(code(4), T0 + 30_000, 3), { ok: false, reason: 'too_many' })
    t.ok((await store.claim(code(1).code, { agentId: 'a', keyHash: key('a') }, T0 + 30_000)).ok)
    t.same(await store.createCode(code(4), T0 + 30_000, 3), { ok: true }, 'a claimed code makes room')
    t.same(await store.createCode(code(5), T0 + 30_000, 3), { ok: false, reason: 'too_many' })
  })

  t.test('attempts: counted per key in a window, taken back, atomic, forgotten after the window', async (t) => {
    const store = await open(t)
    const first = await store.countAttempt('pair:192.0.2.1', 60_000, T0)
    t.same(first, { count: 1, resetAt: T0 + 60_000 })
    t.same(await store.countAttempt('pair:192.0.2.1', 60_000, T0 + 1_000), { count: 2, resetAt: T0 + 60_000 }, 'the window runs from the first attempt')
    t.same(await store.countAttempt('pair:192.0.2.2', 60_000, T0 + 1_000), { count: 1, resetAt: T0 + 61_000 }, 'each key has its own')
    await store.uncountAttempt('pair:192.0.2.1', T0 + 2_000)
    t.same(await store.countAttempt('pair:192.0.2.1', 60_000, T0 + 2_000), { count: 2, resetAt: T0 + 60_000 }, 'one taken back')
    await store.uncountAttempt('pair:nobody', T0)
    t.same(await store.countAttempt('pair:nobody', 60_000, T0), { count: 1, resetAt: T0 + 60_000 }, 'taking back from nothing leaves nothing below zero')
    const racing = await Promise.all(Array.from({ length: 50 }, () => store.countAttempt('pair:2001:db8::/64', 60_000, T0)))
    t.same(racing.map((r) => r.count).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1), 'concurrent attempts each get their own count')
    t.same(await store.countAttempt('pair:192.0.2.1', 60_000, T0 + 60_000), { count: 1, resetAt: T0 + 120_000 }, 'a new window after the old one ends')
    await store.uncountAttempt('pair:192.0.2.2', T0 + 61_000)
    await store.sweep(T0 + 61_000)
    t.same(await store.countAttempt('pair:192.0.2.2', 60_000, T0 + 61_000), { count: 1, resetAt: T0 + 121_000 })
  })

  t.test('identities: registered once (of racing registrations one wins), read, touched forward, forgotten when idle', async (t) => {
    const store = await open(t)
    t.equal(await store.getIdentity('bank-bot'), null, 'unknown at first')
    t.same(await store.registerIdentity('bank-bot', key('bank-bot'), T0), { ok: true })
    t.same(await store.getIdentity('bank-bot'), { agentId: 'bank-bot', keyHash: key('bank-bot'), createdAt: T0, lastConnectedAt: T0 })
    t.same(
      await store.registerIdentity('bank-bot', key('stranger'), T0 + 5),
      { ok: false, identity: { agentId: 'bank-bot', keyHash: key('bank-bot'), createdAt: T0, lastConnectedAt: T0 } },
      'a second registration changes nothing and is told the holder',
    )
    const racing = await Promise.all(Array.from({ length: 20 }, (_, i) => store.registerIdentity('alice-agent', key(`racer-${i}`), T0)))
    const winners = racing.flatMap((outcome, i) => (outcome.ok ? [i] : []))
    t.equal(winners.length, 1, 'exactly one racing registration wins')
    const winnerKey = key(`racer-${winners[0]}`)
    t.ok(racing.every((outcome) => outcome.ok || outcome.identity.keyHash === winnerKey), 'the losers are told the winner')
    t.equal((await store.getIdentity('alice-agent'))?.keyHash, winnerKey)

    await store.touchIdentities(['bank-bot', 'nobody-known'], T0 + 10_000)
    t.equal((await store.getIdentity('bank-bot'))?.lastConnectedAt, T0 + 10_000)
    t.equal(await store.getIdentity('nobody-known'), null, 'a touch creates nothing')
    await store.touchIdentities(['bank-bot'], T0 + 5_000)
    t.equal((await store.getIdentity('bank-bot'))?.lastConnectedAt, T0 + 10_000, 'a touch never moves it back')
    await store.touchIdentities([], T0)

    t.equal(await store.forgetIdleIdentities(T0), 0, 'idle since before T0: none (strictly older)')
    t.equal(await store.forgetIdleIdentities(T0 + 1), 1, 'alice-agent, last connected at T0, goes')
    t.equal(await store.getIdentity('alice-agent'), null)
    t.ok(await store.getIdentity('bank-bot'), 'bank-bot, touched since, stays')
    t.same(await store.registerIdentity('alice-agent', key('alice-agent'), T0 + 20_000), { ok: true }, 'a forgotten id may be registered afresh')
    t.equal(await store.forgetIdleIdentities(T0 + 30_000), 2)
    t.equal(await store.getIdentity('bank-bot'), null)
  })

  t.test('watch: message, member_removed and ended events, and unwatch', async (t) => {
    const store = await open(t)
    const input = session()
    await store.create(input, T0)
    await store.join(input.id, { agentId: 'a', keyHash: key('a') }, T0)
    await store.join(input.id, { agentId: 'b', keyHash: key('b') }, T0)
    const events: SessionEvent[] = []
    const watcher = { onSessionEvent: (event: SessionEvent) => events.push(event) }
    const unwatched: SessionEvent[] = []
    const left = { onSessionEvent: (event: SessionEvent) => unwatched.push(event) }
    store.watch(input.id, watcher)
    store.watch(input.id, left)
    store.unwatch(input.id, left)
    store.unwatch(input.id, { onSessionEvent: () => {} })
    await store.append(input.id, draft('a', 'hello'), undefined, T0)
    await store.leave(input.id, 'b', key('b'), T0)
    await waitFor(() => events.length >= 2)
    await store.sweep(T0 + 120_000)
    await waitFor(() => events.length >= 3)
    // A store may name the sender of a message event; if it does, it must be the sender.
    const [first] = events
    if (first?.type === 'message' && first.agentId !== undefined) {
      t.equal(first.agentId, 'a', 'the sender, when named')
      delete first.agentId
    }
    t.same(events, [
      { type: 'message', sessionId: input.id, cursor: 1 },
      { type: 'member_removed', sessionId: input.id, agentId: 'b' },
      { type: 'ended', sessionId: input.id },
    ])
    t.same(unwatched, [], 'a watcher that unwatched is told nothing')
    store.unwatch(input.id, watcher)
    const again = session()
    await store.create(again, T0)
    t.equal(events.length, 3)
  })

  // Webhooks.

  const hook = (n: number) => ({ url: `https://hooks.example/${n}`, secret: `whsec_secret${n}` })

  async function withMembers(store: SessionStore, ...agents: string[]) {
    const input = session({ creatorAgentId: agents[0]!, creator: { agentId: agents[0]!, keyHash: key(agents[0]!) } })
    await store.create(input, T0)
    for (const agent of agents.slice(1)) await store.join(input.id, { agentId: agent, keyHash: key(agent) }, T0)
    return input.id
  }

  t.test('webhooks: set, replace, get, remove, with the member checks in order', async (t) => {
    const store = await open(t)
    const id = await withMembers(store, 'a', 'b')
    await store.append(id, draft('a', 'before'), undefined, T0)
    t.same(await store.setWebhook(newSessionId(), 'a', key('a'), hook(1), 5, T0), { ok: false, reason: 'session_not_found' })
    t.same(await store.setWebhook(id, 'z', key('z'), hook(1), 5, T0), { ok: false, reason: 'not_member' })
    t.same(await store.setWebhook(id, 'a', key('b'), hook(1), 5, T0), { ok: false, reason: 'bad_key' })
    t.same(await store.getWebhook(id, 'a', key('b'), T0), { ok: false, reason: 'bad_key' })
    t.same(await store.removeWebhook(id, 'a', key('b'), T0), { ok: false, reason: 'bad_key' })
    t.same(await store.getWebhook(id, 'a', key('a'), T0), { ok: true, webhook: null, lastCursor: 1 })
    const set = await store.setWebhook(id, 'a', key('a'), hook(1), 5, T0)
    t.ok(set.ok && !set.replaced)
    if (!set.ok) return
    t.match(set.webhook, { url: hook(1).url, secret: hook(1).secret, cursor: 1, lastSuccessAt: null, lastError: null, attempts: 0, nextAttemptAt: T0 })
    const got = await store.getWebhook(id, 'a', key('a'), T0 + 1)
    t.same(got, { ok: true, webhook: set.webhook, lastCursor: 1 })
    await store.append(id, draft('b', 'after'), undefined, T0 + 2)
    const replaced = await store.setWebhook(id, 'a', key('a'), hook(2), 5, T0 + 3)
    t.ok(replaced.ok && replaced.replaced && replaced.webhook.cursor === 1 && replaced.webhook.url === hook(2).url, 'a replacement keeps the cursor')
    t.same(await store.removeWebhook(id, 'a', key('a'), T0 + 4), { ok: true, removed: true })
    t.same(await store.removeWebhook(id, 'a', key('a'), T0 + 4), { ok: true, removed: false })
    t.same(await store.getWebhook(id, 'a', key('a'), T0 + 4), { ok: true, webhook: null, lastCursor: 2 })
  })

  t.test('webhooks: at most maxPerSession per session; a replacement does not count twice', async (t) => {
    const store = await open(t)
    const id = await withMembers(store, 'a', 'b', 'c')
    t.ok((await store.setWebhook(id, 'a', key('a'), hook(1), 2, T0)).ok)
    t.ok((await store.setWebhook(id, 'b', key('b'), hook(2), 2, T0)).ok)
    t.same(await store.setWebhook(id, 'c', key('c'), hook(3), 2, T0), { ok: false, reason: 'too_many' })
    t.ok((await store.setWebhook(id, 'b', key('b'), hook(4), 2, T0)).ok)
  })

  t.test('webhooks: one lease at a time; settle moves the cursor forward only, for the holder', async (t) => {
    const store = await open(t)
    const id = await withMembers(store, 'a', 'b')
    await store.setWebhook(id, 'a', key('a'), hook(1), 5, T0)
    for (const text of ['1', '2', '3']) await store.append(id, draft('b', text), undefined, T0)
    const leased = await store.leaseWebhook(id, 'a', 'one', T0 + 1000, T0)
    t.ok(leased.ok && leased.lastCursor === 3 && leased.webhook.cursor === 0)
    t.same(await store.leaseWebhook(id, 'a', 'two', T0 + 1000, T0 + 1), { ok: false, reason: 'held' })
    t.equal(await store.settleWebhook(id, 'a', 'two', { kind: 'delivered', cursor: 3, recheckAt: T0 + 9999 }, T0 + 2), 'lost', 'only the holder settles')
    t.equal(await store.settleWebhook(id, 'a', 'one', { kind: 'delivered', cursor: 2, recheckAt: T0 + 9999 }, T0 + 2), 'more')
    let got = await store.getWebhook(id, 'a', key('a'), T0 + 3)
    t.match(got.ok && got.webhook, { cursor: 2, lastSuccessAt: T0 + 2, nextAttemptAt: T0 + 2 })
    const again = await store.leaseWebhook(id, 'a', 'two', T0 + 1000, T0 + 3)
    t.ok(again.ok, 'free again once settled')
    t.equal(await store.settleWebhook(id, 'a', 'two', { kind: 'failed', error: 'HTTP 500', retryAt: T0 + 500 }, T0 + 4), 'settled')
    got = await store.getWebhook(id, 'a', key('a'), T0 + 5)
    t.match(got.ok && got.webhook, { cursor: 2, lastError: 'HTTP 500', attempts: 1, nextAttemptAt: T0 + 500 })
    await store.leaseWebhook(id, 'a', 'one', T0 + 1000, T0 + 600)
    t.equal(await store.settleWebhook(id, 'a', 'one', { kind: 'delivered', cursor: 1, recheckAt: T0 + 9999 }, T0 + 601), 'more', 'never back')
    got = await store.getWebhook(id, 'a', key('a'), T0 + 602)
    t.match(got.ok && got.webhook, { cursor: 2, lastError: null, attempts: 0 })
    await store.leaseWebhook(id, 'a', 'one', T0 + 1000, T0 + 603)
    t.equal(await store.settleWebhook(id, 'a', 'one', { kind: 'delivered', cursor: 3, recheckAt: T0 + 9999 }, T0 + 604), 'settled')
    got = await store.getWebhook(id, 'a', key('a'), T0 + 605)
    t.match(got.ok && got.webhook, { cursor: 3, nextAttemptAt: T0 + 9999 }, 'caught up: due at the recheck')
  })

  t.test('webhooks: a lease that runs out passes on; of concurrent leases one wins', async (t) => {
    const store = await open(t)
    const id = await withMembers(store, 'a', 'b')
    await store.setWebhook(id, 'a', key('a'), hook(1), 5, T0)
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.leaseWebhook(id, 'a', `h${i}`, T0 + 100, T0)))
    t.equal(results.filter((r) => r.ok).length, 1)
    t.ok((await store.leaseWebhook(id, 'a', 'late', T0 + 300, T0 + 100)).ok, 'taken once the lease ran out')
  })

  t.test('webhooks: due lists those whose time has come, soonest first', async (t) => {
    const store = await open(t)
    const id = await withMembers(store, 'a', 'b', 'c')
    await store.setWebhook(id, 'a', key('a'), hook(1), 5, T0)
    await store.setWebhook(id, 'b', key('b'), hook(2), 5, T0 + 5)
    await store.setWebhook(id, 'c', key('c'), hook(3), 5, T0)
    await store.leaseWebhook(id, 'c', 'h', T0 + 1000, T0)
    const mine = async (now: number) => (await store.dueWebhooks(now, 1000)).filter((r) => r.sessionId === id).map((r) => r.agentId)
    t.same(await mine(T0 + 10), ['a', 'b'], 'a leased one is not due until its lease runs out')
    t.same(await mine(T0 + 1000), ['a', 'b', 'c'])
    await store.settleWebhook(id, 'a', 'x', { kind: 'idle', recheckAt: T0 + 5000 }, T0)
    await store.leaseWebhook(id, 'a', 'h', T0 + 10, T0)
    await store.settleWebhook(id, 'a', 'h', { kind: 'idle', recheckAt: T0 + 5000 }, T0)
    t.same(await mine(T0 + 1000), ['b', 'c'])
  })

  t.test('webhooks: a member who left, or an ended session, leaves its webhook gone', async (t) => {
    const store = await open(t)
    const id = await withMembers(store, 'a', 'b')
    await store.setWebhook(id, 'a', key('a'), hook(1), 5, T0)
    await store.setWebhook(id, 'b', key('b'), hook(2), 5, T0)
    await store.leave(id, 'b', key('b'), T0)
    // Another agent joins under the departed member's id: the webhook is not its to inherit.
    await store.join(id, { agentId: 'b', keyHash: key('b-again') }, T0)
    t.same(await store.getWebhook(id, 'b', key('b-again'), T0), { ok: true, webhook: null, lastCursor: 0 }, 'not shown to the newcomer')
    t.same(await store.leaseWebhook(id, 'b', 'h', T0 + 100, T0), { ok: false, reason: 'gone' })
    t.same(await store.getWebhook(id, 'b', key('b-again'), T0), { ok: true, webhook: null, lastCursor: 0 })
    t.same(await store.leaseWebhook(id, 'b', 'h', T0 + 100, T0), { ok: false, reason: 'gone' })
    t.same(await store.leaseWebhook(id, 'a', 'h', T0 + 100, T0 + 61_000), { ok: false, reason: 'gone' })
    await store.sweep(T0 + 61_000)
    t.same((await store.dueWebhooks(T0 + 120_000, 1000)).filter((r) => r.sessionId === id), [])
  })

  t.test('stats count live sessions, their members, and accepted messages', async (t) => {
    const store = await open(t)
    const a = session({ creatorAgentId: 'x', creator: { agentId: 'x', keyHash: key('x') } })
    const b = session({ ttlSeconds: 120 })
    await store.create(a, T0)
    await store.create(b, T0)
    await store.join(b.id, { agentId: 'y', keyHash: key('y') }, T0)
    await store.append(b.id, draft('y', 'hi'), undefined, T0)
    const before = await store.stats(T0)
    t.equal(before.activeSessions, 2)
    t.equal(before.totalAgents, 2)
    t.equal(before.totalMessages, 1)
    const later = await store.stats(T0 + 90_000)
    t.equal(later.activeSessions, 1)
    t.equal(later.totalAgents, 1)
  })
}

/** Events may arrive asynchronously from a remote store: wait a little, never forever. */
async function waitFor(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
}
