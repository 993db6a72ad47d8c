import t from 'tap'
import { build, call, twoAgents } from '../helpers.js'

// Regression: a method a route does not serve was `404 not_found`, as if the path did not
// exist, and HEAD on the event stream never answered while it held a waiter slot.
t.test('a route asked with a method it does not serve: 405 method_not_allowed with Allow', async (t) => {
  const app = await build(t)
  const { sessionId } = await twoAgents(app)
  const cases: Array<{ method: 'PATCH' | 'OPTIONS' | 'DELETE' | 'PUT' | 'POST' | 'GET'; url: string; allow: string }> = [
    { method: 'PATCH', url: '/v1/sessions', allow: 'PUT' },
    { method: 'OPTIONS', url: '/health', allow: 'GET, HEAD' },
    { method: 'DELETE', url: `/v1/sessions/${sessionId}/messages?after=1`, allow: 'GET, HEAD, POST' },
    { method: 'PUT', url: `/v1/sessions/${sessionId}/events`, allow: 'GET, HEAD' },
    { method: 'GET', url: `/v1/sessions/${sessionId}/join`, allow: 'POST' },
    { method: 'POST', url: '/v1/pair/ABLE-BAKER-23456/status', allow: 'GET, HEAD' },
    { method: 'GET', url: `/v1/sessions/${sessionId}/agents/guest`, allow: 'DELETE' },
  ]
  for (const c of cases) {
    const res = await call(app, { method: c.method, url: c.url })
    t.equal(res.status, 405, `${c.method} ${c.url}`)
    t.equal(res.body?.error, 'method_not_allowed')
    t.equal(res.headers.allow, c.allow, `${c.method} ${c.url}: Allow`)
    t.ok(res.headers['x-request-id'])
  }
  const nowhere = await call(app, { method: 'PATCH', url: '/v2/nowhere' })
  t.same([nowhere.status, nowhere.body?.error], [404, 'not_found'], 'a path no route serves is still 404')
  const served = await call(app, { method: 'GET', url: '/health' })
  t.equal(served.status, 200, 'a method the route serves is served')
})

t.test('HEAD on the event stream answers its headers at once and takes no waiter slot', async (t) => {
  const app = await build(t, { MAX_WAITERS_PER_IP: '1' })
  const { sessionId } = await twoAgents(app)
  // Two at once under a cap of one waiter per address: a HEAD that took a slot would starve the other.
  const [head, second] = await Promise.all([1, 2].map(() => app.inject({ method: 'HEAD', url: `/v1/sessions/${sessionId}/events?agentId=guest` })))
  t.equal(second!.statusCode, 200, 'the second HEAD is not refused for a slot')
  if (!head) return
  t.equal(head.statusCode, 200)
  t.match(head.headers['content-type'], /^text\/event-stream/)
  t.equal(head.body, '')
  const stats = await call(app, { method: 'GET', url: '/v1/stats' })
  t.equal(stats.body.waitingRequests, 0, 'no slot held')
  const stranger = await app.inject({ method: 'HEAD', url: `/v1/sessions/${sessionId}/events?agentId=stranger` })
  t.equal(stranger.statusCode, 403, 'the same status a GET would get')
})

t.test('HEAD on a long-poll answers at once, without waiting', async (t) => {
  const app = await build(t, { MAX_WAITERS_PER_IP: '1' })
  const { sessionId } = await twoAgents(app)
  const [head, second] = await Promise.all([1, 2].map(() => app.inject({ method: 'HEAD', url: `/v1/sessions/${sessionId}/messages?after=0&wait=60`, headers: { 'x-agent-id': 'guest' } })))
  t.equal(second!.statusCode, 200, 'the second HEAD is not refused for a slot')
  if (!head) return
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  const stats = await call(app, { method: 'GET', url: '/v1/stats' })
  t.equal(stats.body.waitingRequests, 0)
})
