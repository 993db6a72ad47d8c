import t, { type Test } from 'tap'
import { isNexusError, type Message, type MessageTransport, type NexusClient } from '../../src/client/index.js'
import { MemoryStore } from '../../src/store/memory.js'
import { clientOf, serve, until } from './server.js'

const transports: MessageTransport[] = ['long-poll', 'sse']

/** Alice (creator) and Bob (joined) on a fresh session. */
async function pair(t: Test, baseUrl: string, create: { ttl?: number; greeting?: string } = {}) {
  const alice = clientOf(t, baseUrl, { agentId: 'alice' })
  const bob = clientOf(t, baseUrl, { agentId: 'bob' })
  const { sessionId } = await alice.createSession({ creatorAgentId: 'alice', ...create })
  await bob.join(sessionId)
  return { alice, bob, sessionId }
}

/** Consumes `client.messages()` in the background, collecting cursors, until `count` or its end. */
function collect(client: NexusClient, sessionId: string, options: Parameters<NexusClient['messages']>[1], count = Infinity) {
  const messages: Message[] = []
  const done = (async () => {
    for await (const message of client.messages(sessionId, options)) {
      messages.push(message)
      if (messages.length >= count) break
    }
  })()
  done.catch(() => {})
  return { messages, cursors: () => messages.map((m) => m.cursor), done }
}

/**
 * True once `longPoll` is accepted rather than refused with capacity_exceeded, within 200 ms:
 * the server learns that a socket closed in its own time (one turn of its event loop), so a
 * probe sent in the same instant may still find the slot taken.
 */
async function acceptedSoon(longPoll: () => Promise<unknown>): Promise<boolean> {
  const deadline = Date.now() + 200
  for (;;) {
    try {
      await longPoll()
      return true
    } catch (err) {
      if (!isNexusError(err, 'capacity_exceeded') || Date.now() > deadline) throw err
    }
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))

for (const transport of transports) {
  t.test(`${transport}: live messages, in order, from the start or after a cursor`, async (t) => {
    const { baseUrl } = await serve(t)
    const { alice, bob, sessionId } = await pair(t, baseUrl, { greeting: 'hello' })
    await alice.send(sessionId, 'one')
    const all = collect(bob, sessionId, { transport }, 6)
    const later = collect(bob, sessionId, { transport, after: 3 }, 2)
    await until(() => all.messages.length === 2)
    for (const n of [2, 3, 4, 5]) await alice.send(sessionId, { text: `m${n}`, json: { n } })
    await all.done
    await later.done
    t.same(all.cursors(), range(0, 5), 'greeting, history, then live')
    t.match(all.messages[0], { agentId: 'system', text: 'hello' })
    t.match(all.messages[5], { agentId: 'alice', text: 'm5', json: { n: 5 }, verified: true })
    t.same(later.cursors(), ['4', '5'], '`after` is exclusive')
  })

  t.test(`${transport}: a server restart loses and repeats nothing`, async (t) => {
    const store = new MemoryStore({ maxSessions: 1000, maxMessagesPerSession: 10000 })
    const first = await serve(t, {}, { store })
    const { alice, bob, sessionId } = await pair(t, first.baseUrl)
    const stream = collect(bob, sessionId, { transport }, 30)
    for (const n of range(1, 10)) await alice.send(sessionId, `before ${n}`)
    await until(() => stream.messages.length === 10)

    await first.stop()
    const key = alice.sessionKey(sessionId)!
    // The new server stores messages the client cannot see yet, and listens only once the
    // client has found the port closed for a while.
    await serve(t, {}, { store }, first.port, async (app) => {
      for (const n of range(11, 20)) {
        const reply = await app.inject({
          method: 'POST',
          url: `/v1/sessions/${sessionId}/messages`,
          headers: { 'x-agent-id': 'alice', 'x-session-key': key },
          payload: { text: `meanwhile ${n}` },
        })
        t.equal(reply.statusCode, 201)
      }
      await new Promise((resolve) => setTimeout(resolve, 60))
    })
    for (const n of range(21, 30)) await alice.send(sessionId, `after ${n}`)
    await stream.done
    t.same(stream.cursors(), range(1, 30), 'every cursor exactly once, in order')
    t.equal(new Set(stream.messages.map((m) => m.id)).size, 30)
  })

  t.test(`${transport}: connections cut by the server are resumed without loss or repeat`, async (t) => {
    const { app, baseUrl } = await serve(t)
    const { alice, bob, sessionId } = await pair(t, baseUrl)
    const key = alice.sessionKey(sessionId)!
    const send = (text: string) =>
      app.inject({ method: 'POST', url: `/v1/sessions/${sessionId}/messages`, headers: { 'x-agent-id': 'alice', 'x-session-key': key }, payload: { text } })
    const stream = collect(bob, sessionId, { transport }, 15)
    for (const n of range(1, 5)) await send(n)
    await until(() => stream.messages.length === 5)
    for (const round of [0, 1]) {
      app.server.closeAllConnections()
      for (const n of range(6 + round * 5, 10 + round * 5)) await send(n)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await stream.done
    t.same(stream.cursors(), range(1, 15))
  })

  t.test(`${transport}: ends with session_not_found when the session expires`, async (t) => {
    let now = Date.now()
    const { baseUrl } = await serve(t, {}, { clock: () => now })
    const { alice, bob, sessionId } = await pair(t, baseUrl, { ttl: 60 })
    await alice.send(sessionId, 'first')
    const stream = collect(bob, sessionId, { transport })
    await until(() => stream.messages.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 30))
    now += 61_000
    await t.rejects(alice.status(sessionId), { code: 'session_not_found' })
    const err = await stream.done.then(() => undefined, (e: unknown) => e)
    t.ok(isNexusError(err, 'session_not_found'), 'the iterator throws session_not_found')
    t.match(err, { status: 404 })
    t.same(stream.cursors(), ['1'])
  })

  t.test(`${transport}: ends with agent_not_in_session when the agent leaves`, async (t) => {
    const { baseUrl } = await serve(t)
    const { alice, bob, sessionId } = await pair(t, baseUrl)
    const stream = collect(bob, sessionId, { transport })
    await alice.send(sessionId, 'first')
    await until(() => stream.messages.length === 1)
    await bob.leave(sessionId)
    const err = await stream.done.then(() => undefined, (e: unknown) => e)
    t.ok(isNexusError(err, 'agent_not_in_session'), 'the iterator throws agent_not_in_session')
    t.match(err, { status: 403 })
  })

  t.test(`${transport}: a session that does not exist fails at once`, async (t) => {
    const { baseUrl } = await serve(t)
    const bob = clientOf(t, baseUrl, { agentId: 'bob' })
    const err = await collect(bob, 'f'.repeat(48), { transport }).done.then(() => undefined, (e: unknown) => e)
    t.ok(isNexusError(err, 'session_not_found'))
  })

  t.test(`${transport}: stopping the loop frees the server's hold slot at once`, async (t) => {
    const { baseUrl } = await serve(t, { MAX_WAITERS_PER_IP: '1' })
    const { alice, bob, sessionId } = await pair(t, baseUrl)
    const strict = clientOf(t, baseUrl, { agentId: 'alice', maxRetries: 0 })

    // break after a message (for SSE the stream is still open then)
    const broken = collect(bob, sessionId, { transport }, 1)
    await alice.send(sessionId, 'one')
    await broken.done
    t.same(broken.cursors(), ['1'])
    t.ok(await acceptedSoon(() => strict.poll(sessionId, { after: 1, wait: 0.01 })), 'a long-poll is accepted right after break')

    // return() while a request waits for the next message
    const iterator = bob.messages(sessionId, { transport, after: 1 })
    const pending = iterator.next()
    let held = false
    while (!held) {
      held = await strict.poll(sessionId, { after: 1, wait: 0.01 }).then(() => false, (err: unknown) => isNexusError(err, 'capacity_exceeded'))
    }
    t.ok(held, 'the waiting iterator holds the slot')
    await iterator.return()
    t.same(await pending, { done: true, value: undefined }, 'the pending next() ends')
    t.ok(await acceptedSoon(() => strict.poll(sessionId, { after: 1, wait: 0.01 })), 'a long-poll is accepted right after return()')
    t.same(await iterator.next(), { done: true, value: undefined }, 'it stays ended')
  })

  t.test(`${transport}: aborting the signal ends the loop quietly`, async (t) => {
    const { baseUrl } = await serve(t, { MAX_WAITERS_PER_IP: '1' })
    const { alice, bob, sessionId } = await pair(t, baseUrl)
    const controller = new AbortController()
    const stream = collect(bob, sessionId, { transport, signal: controller.signal })
    await alice.send(sessionId, 'one')
    await until(() => stream.messages.length === 1)
    controller.abort()
    await stream.done
    t.same(stream.cursors(), ['1'])
    const strict = clientOf(t, baseUrl, { agentId: 'alice', maxRetries: 0 })
    t.ok(await acceptedSoon(() => strict.poll(sessionId, { after: 1, wait: 0.01 })), 'the slot is free')

    const aborted = new AbortController()
    aborted.abort()
    const never = collect(bob, sessionId, { transport, signal: aborted.signal })
    await never.done
    t.same(never.cursors(), [], 'an aborted signal yields nothing')
  })

  t.test(`${transport}: onGap tells of dropped messages`, async (t) => {
    const { baseUrl } = await serve(t, { MAX_MESSAGES_PER_SESSION: '3' })
    const { alice, bob, sessionId } = await pair(t, baseUrl)
    for (const n of range(1, 5)) await alice.send(sessionId, n)
    const gaps: string[] = []
    const stream = collect(bob, sessionId, { transport, onGap: (oldest) => gaps.push(oldest) }, 3)
    await stream.done
    t.same(gaps, ['3'])
    t.same(stream.cursors(), ['3', '4', '5'])

    const refusing = collect(bob, sessionId, { transport, onGap: () => { throw new Error('no gaps, please') } })
    await t.rejects(refusing.done, { message: 'no gaps, please' }, 'an error in onGap ends the loop with it')
  })
}

t.test('maxReconnects bounds the attempts on a server that is gone', async (t) => {
  const { baseUrl, stop } = await serve(t)
  const { bob, sessionId } = await pair(t, baseUrl)
  await stop()
  for (const transport of transports) {
    const err = await collect(bob, sessionId, { transport, maxReconnects: 2 }).done.then(() => undefined, (e: unknown) => e)
    t.ok(isNexusError(err, 'network_error'), `${transport}: the last transport error is thrown`)
  }
})

t.test('the iterator tells its cursor; a bad cursor is refused', async (t) => {
  const { baseUrl } = await serve(t)
  const { alice, bob, sessionId } = await pair(t, baseUrl)
  await alice.send(sessionId, 'one')
  const iterator = bob.messages(sessionId)
  t.equal(iterator.cursor, undefined)
  t.equal((await iterator.next()).value?.cursor, '1')
  t.equal(iterator.cursor, '1')
  await iterator.return()
  t.throws(() => bob.messages(sessionId, { after: 'x' }), TypeError)
  t.throws(() => bob.messages(sessionId, { wait: 0 }), TypeError)
})
