import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import { call, poll, send } from '../helpers.js'
import { instance } from './support.js'

/**
 * Redis stopped and restarted under load, on a throwaway redis-server of this test's own (never
 * the machine's shared one). It runs with an append-only file fsynced on every write, as a
 * deployment that promises "nothing accepted is lost" must; so SIGKILL and a restart on the same
 * directory is an honest outage. A SIGSTOP pause (the server alive but silent) follows.
 * While Redis is away requests answer 503 store_unavailable with Retry-After, quickly, and
 * nothing crashes; when it returns service resumes by itself, and every accepted message is
 * there, in order, with no gap.
 */

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  return port
}

class ThrowawayRedis {
  child: ChildProcess | undefined
  readonly dir = mkdtempSync(join(tmpdir(), 'nexus-redis-'))
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always',
      '--dir', this.dir, '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: 'ignore' })
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        await probe.connect()
        if ((await probe.ping()) === 'PONG') break
      } catch {
        // not up yet
      }
      probe.disconnect()
      if (Date.now() > deadline) throw new Error('redis-server did not start')
      await pause(50)
    }
    probe.disconnect()
  }

  async kill(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.child?.kill(signal)
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

interface Outcome {
  status: number
  error?: string
  retryAfter?: string
  cursor?: string
  text: string
  startedAt: number
  ms: number
}

t.test('Redis killed and restarted, then paused, under load: 503s, recovery, nothing accepted lost', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  const redis = new ThrowawayRedis(await freePort())
  t.teardown(async () => {
    redis.signal('SIGCONT')
    await redis.kill()
    redis.cleanup()
  })
  await redis.start()
  const prefix = 'nexus-outage:'
  const a = await instance(t, prefix, {}, redis.url)
  const b = await instance(t, prefix, {}, redis.url)
  const apps = [a.app, b.app]

  const created = await call(a.app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const id: string = created.body.sessionId
  await call(b.app, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': 'guest' } })

  // The load: four senders alternating between the instances, as fast as they are answered.
  const outcomes: Outcome[] = []
  let sending = true
  let n = 0
  const sender = async (lane: number) => {
    while (sending) {
      const text = `lane${lane}-${n++}`
      const started = performance.now()
      const res = await send(apps[n % 2]!, id, 'host', { text })
      const outcome: Outcome = { status: res.status, text, startedAt: started, ms: performance.now() - started }
      if (res.status === 201) outcome.cursor = res.body.cursor
      else {
        outcome.error = res.body?.error
        outcome.retryAfter = res.headers['retry-after'] as string | undefined
        await pause(20)
      }
      outcomes.push(outcome)
    }
  }
  // A reader on instance A, long-polling from its cursor as a client does, retrying on errors.
  const received: { cursor: string; text: string }[] = []
  let reading = true
  const reader = (async () => {
    let cursor = '0'
    while (reading) {
      const page = await poll(a.app, id, 'guest', `after=${cursor}&wait=1`)
      if (page.status !== 200) {
        await pause(50)
        continue
      }
      for (const m of page.body.messages as { cursor: string; text: string }[]) received.push({ cursor: m.cursor, text: m.text })
      cursor = page.body.nextCursor
    }
  })()
  const load = [0, 1, 2, 3].map((lane) => sender(lane))
  const acceptedSince = (from: number) => outcomes.slice(from).filter((o) => o.status === 201).length
  /** Sends started in the window (none in flight when it opened) and answered within it. */
  const within = (from: number, to: number) => outcomes.filter((o) => o.startedAt > from && o.startedAt + o.ms < to)

  // Waited for rather than slept on: how many a fixed pause admits depends on the machine's load.
  const warmDeadline = Date.now() + 10_000
  while (acceptedSince(0) <= 20 && Date.now() < warmDeadline) await pause(50)
  t.ok(acceptedSince(0) > 20, `accepted before the outage: ${acceptedSince(0)}`)

  // A quiet session with a long-poll held on A across the outage: after it, a send through B
  // must still wake it at once (the subscriber reconnects and subscribes again).
  const quiet = await call(b.app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  const quietId: string = quiet.body.sessionId
  await call(b.app, { method: 'POST', url: `/v1/sessions/${quietId}/join`, headers: { 'x-agent-id': 'guest' } })
  let quietAnswered = 0
  const quietWait = poll(a.app, quietId, 'guest', 'after=0&wait=25').then((page) => {
    quietAnswered = performance.now()
    return page
  })
  await pause(100)

  // Outage 1: the process is killed.
  await redis.kill()
  const killedAt = performance.now()
  await pause(1200)
  const duringKill = within(killedAt, performance.now())
  t.ok(duringKill.length > 0 && duringKill.every((o) => o.status === 503 && o.error === 'store_unavailable'), `${duringKill.length} sends answered 503 store_unavailable`)
  t.ok(duringKill.every((o) => Number(o.retryAfter) > 0), 'each with Retry-After')
  t.ok(duringKill.every((o) => o.ms < 500), `fast: slowest ${Math.max(...duringKill.map((o) => o.ms)).toFixed(0)} ms`)
  const health = await call(b.app, { method: 'GET', url: '/health' })
  t.equal(health.status, 503)
  t.match(health.body, { status: 'unavailable', store: 'redis', storeReachable: false })

  await redis.start()
  const restartedAt = outcomes.length
  const deadline = Date.now() + 10_000
  while (acceptedSince(restartedAt) < 20 && Date.now() < deadline) await pause(50)
  t.ok(acceptedSince(restartedAt) >= 20, 'sends succeed again once Redis is back')
  t.equal((await call(a.app, { method: 'GET', url: '/health' })).status, 200, '/health is 200 again')
  const wakeSentAt = performance.now()
  t.equal((await send(b.app, quietId, 'host', { text: 'after the outage' })).status, 201)
  const woken = await quietWait
  t.same(woken.body.messages.map((m: { text: string }) => m.text), ['after the outage'], 'a long-poll held across the outage gets the next message')
  t.ok(quietAnswered - wakeSentAt < 1000, `woken ${(quietAnswered - wakeSentAt).toFixed(0)} ms after the send`)

  // Outage 2: the process is paused (connections open, no answers): commands time out.
  redis.signal('SIGSTOP')
  const pausedAt = performance.now()
  await pause(2500)
  const duringPause = within(pausedAt, performance.now())
  redis.signal('SIGCONT')
  t.ok(duringPause.length > 0 && duringPause.every((o) => o.status === 503 && o.error === 'store_unavailable'), `${duringPause.length} sends answered 503 while paused`)
  t.ok(duringPause.every((o) => o.ms < 1100), `within the command timeout: slowest ${Math.max(...duringPause.map((o) => o.ms)).toFixed(0)} ms`)
  const resumedAt = outcomes.length
  const deadline2 = Date.now() + 10_000
  while (acceptedSince(resumedAt) < 20 && Date.now() < deadline2) await pause(50)
  t.ok(acceptedSince(resumedAt) >= 20, 'and resume after the pause')

  sending = false
  await Promise.all(load)
  await pause(1200)
  reading = false
  await reader

  // Everything accepted is stored, at the cursor it was given; cursors run 1..N with no gap.
  const all: { cursor: string; text: string }[] = []
  let after = '0'
  for (;;) {
    const page = await poll(b.app, id, 'guest', `after=${after}&limit=1000`)
    all.push(...page.body.messages)
    after = page.body.nextCursor
    if (!page.body.hasMore) break
  }
  const cursors = all.map((m) => Number(m.cursor))
  t.same(cursors, Array.from({ length: all.length }, (_, i) => i + 1), `${all.length} messages, cursors 1..${all.length}`)
  const stored = new Map(all.map((m) => [m.cursor, m.text]))
  const accepted = outcomes.filter((o) => o.status === 201)
  t.ok(accepted.every((o) => stored.get(o.cursor!) === o.text), `all ${accepted.length} accepted messages are there at their cursor`)
  const unknown = all.length - accepted.length
  t.ok(unknown >= 0 && unknown <= 12, `stored but answered 503 (timed out while paused, then run): ${unknown}`)
  t.same(received.map((m) => Number(m.cursor)), cursors, 'the long-polling reader on the other instance got every message once, in order')
  t.same(unhandled, [], 'no unhandled rejections')
})
