import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { build, call, fakeClock, send, twoAgents } from '../helpers.js'

interface SseEvent {
  id?: string
  event: string
  data: string
}

/** Opens an event stream and collects its events (and comments) as they come. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  const events: SseEvent[] = []
  let comments = 0
  let ended = false
  const done = (async () => {
    if (!response.body) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true })
        let split: number
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split)
          buffer = buffer.slice(split + 2)
          const event: SseEvent = { event: 'message', data: '' }
          let isEvent = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++
            else if (line.startsWith('id: ')) event.id = line.slice(4)
            else if (line.startsWith('event: ')) {
              event.event = line.slice(7)
              isEvent = true
            } else if (line.startsWith('data: ')) {
              event.data += line.slice(6)
              isEvent = true
            }
          }
          if (isEvent) events.push(event)
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true
  })()
  return {
    response,
    events,
    get comments() {
      return comments
    },
    get ended() {
      return ended
    },
    close: () => controller.abort(),
    done,
  }
}

async function until(condition: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function listening(t: Test, env: Record<string, string> = {}, options = {}) {
  const app = await build(t, env, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

t.test('replay from the start, then live; ids are cursors', async (t) => {
  const { app, base } = await listening(t)
  const { sessionId } = await twoAgents(app, { greeting: 'hello' })
  await send(app, sessionId, 'host', { text: 'before' })
  const stream = await openStream(`${base}/v1/sessions/${sessionId}/events`, { 'x-agent-id': 'guest' })
  t.equal(stream.response.status, 200)
  t.match(stream.response.headers.get('content-type'), /text\/event-stream/)
  t.ok(stream.response.headers.get('x-request-id'))
  await until(() => stream.events.length === 2)
  await send(app, sessionId, 'host', { text: 'live one' })
  await send(app, sessionId, 'host', { json: { live: 2 } })
  await until(() => stream.events.length === 4)
  t.same(stream.events.map((e) => e.id), ['0', '1', '2', '3'])
  t.same(stream.events.map((e) => e.event), ['message', 'message', 'message', 'message'])
  const last = JSON.parse(stream.events[3]!.data)
  t.match(last, { cursor: '3', agentId: 'host', json: { live: 2 } })
  stream.close()
  await stream.done
})

t.test('resume with Last-Event-ID or after: no loss, no repeat; agentId in the query', async (t) => {
  const { app, base } = await listening(t)
  const { sessionId } = await twoAgents(app)
  for (let i = 1; i <= 5; i++) await send(app, sessionId, 'host', { text: `m${i}` })
  const resumed = await openStream(`${base}/v1/sessions/${sessionId}/events?after=1&agentId=guest`, { 'last-event-id': '3' })
  await until(() => resumed.events.length === 2)
  t.same(resumed.events.map((e) => e.id), ['4', '5'], 'Last-Event-ID wins over after')
  resumed.close()
  const fromAfter = await openStream(`${base}/v1/sessions/${sessionId}/events?after=4&agentId=guest`)
  await until(() => fromAfter.events.length === 1)
  t.same(fromAfter.events.map((e) => e.id), ['5'])
  fromAfter.close()
  await Promise.all([resumed.done, fromAfter.done])
})

t.test('errors before the stream starts are ordinary JSON errors', async (t) => {
  const { app, base } = await listening(t)
  const { sessionId } = await twoAgents(app)
  const stranger = await fetch(`${base}/v1/sessions/${sessionId}/events`, { headers: { 'x-agent-id': 'stranger' } })
  t.same([stranger.status, ((await stranger.json()) as any).error], [403, 'agent_not_in_session'])
  const anonymous = await fetch(`${base}/v1/sessions/${sessionId}/events`)
  t.same([anonymous.status, ((await anonymous.json()) as any).error], [400, 'missing_agent_id'])
  const badId = await fetch(`${base}/v1/sessions/${sessionId}/events?agentId=guest`, { headers: { 'last-event-id': 'abc' } })
  t.same([badId.status, ((await badId.json()) as any).error], [400, 'invalid_request'])
  const unknown = await fetch(`${base}/v1/sessions/${'f'.repeat(48)}/events?agentId=guest`)
  t.equal(unknown.status, 404)
})

t.test('an event when the session expires, then the stream ends', async (t) => {
  const clock = fakeClock()
  const { app, base } = await listening(t, {}, { clock: clock.now })
  const { sessionId } = await twoAgents(app, { ttl: 60 })
  const stream = await openStream(`${base}/v1/sessions/${sessionId}/events?agentId=guest`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  clock.advance(61_000)
  await call(app, { method: 'GET', url: `/v1/sessions/${sessionId}` })
  await until(() => stream.ended)
  t.same(stream.events.map((e) => e.event), ['session_expired'])
  t.equal(JSON.parse(stream.events[0]!.data).error, 'session_not_found')
})

t.test('an event when the agent is removed', async (t) => {
  const { app, base } = await listening(t)
  const { sessionId, guestKey } = await twoAgents(app)
  const stream = await openStream(`${base}/v1/sessions/${sessionId}/events?agentId=guest`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  await call(app, { method: 'DELETE', url: `/v1/sessions/${sessionId}/agents/guest`, headers: { 'x-agent-id': 'guest', 'x-session-key': guestKey } })
  await until(() => stream.ended)
  t.same(stream.events.map((e) => e.event), ['agent_removed'])
})

t.test('keep-alive comments, and shutdown ends the stream', async (t) => {
  const { app, base } = await listening(t, { SSE_KEEPALIVE_SECONDS: '1' })
  const { sessionId } = await twoAgents(app)
  const stream = await openStream(`${base}/v1/sessions/${sessionId}/events?agentId=guest`)
  await until(() => stream.comments >= 1, 5000)
  t.pass('a keep-alive comment arrived')
  await app.close()
  await until(() => stream.ended)
  t.same(stream.events.map((e) => e.event), ['shutdown'])
})

t.test('streams count against the hold caps', async (t) => {
  const { app, base } = await listening(t, { MAX_WAITERS_PER_IP: '1' })
  const { sessionId } = await twoAgents(app)
  const stream = await openStream(`${base}/v1/sessions/${sessionId}/events?agentId=guest`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const second = await fetch(`${base}/v1/sessions/${sessionId}/events?agentId=host`)
  t.equal(second.status, 503)
  stream.close()
  await stream.done
  await new Promise((resolve) => setTimeout(resolve, 100))
  const third = await openStream(`${base}/v1/sessions/${sessionId}/events?agentId=host`)
  t.equal(third.response.status, 200, 'the slot came back when the first stream closed')
  third.close()
  await third.done
})
