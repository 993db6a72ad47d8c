import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { hashSessionKey, newMessageId, newSessionId } from '../src/core/ids.js'
import { RedisStore } from '../src/store/redis.js'
import { type BenchSession, makeSessions, message256, sendText } from './fixtures.js'
import { deliveryLatency, type LatencyResult } from './latency.js'
import { pinSelf, type Server, startServer } from './processes.js'
import { polls, sends } from './throughput.js'

/**
 * The Redis store against the memory store, in one run on one machine: send and poll
 * throughput, and delivery latency on long-poll and SSE, as ratios (Redis / memory). Then what
 * only Redis has: delivery across two instances (wait on one, send through the other), Redis CPU
 * per send and per poll (so, what one Redis core can carry; both include the shared rate limit's
 * counter), and Redis memory per session and per message. `node --import tsx bench/redis.ts`
 * prints the figures (and writes bench/results/redis.json); references/scaling.md uses them.
 */

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

function startInstance(name: string, env: Record<string, string>): Promise<Server> {
  // Both stores run from source through tsx, so the two sides differ only by the store.
  return startServer(name, ['--import', 'tsx', 'src/server.ts'], {
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    MAX_SESSIONS: '300000',
    MAX_WAITERS: '50000',
    MAX_WAITERS_PER_IP: '50000',
    MAX_MESSAGES_PER_SESSION: '100000',
    ...env,
  }, '/health')
}

interface StoreRun {
  sendRps: number
  tailPollRps: number
  pagePollRps: number
  longPoll: LatencyResult
  sse: LatencyResult
  errors: number
}

async function measure(server: Server, sessions: BenchSession[]): Promise<StoreRun> {
  const base = server.base
  const send = await sends(server, sessions)
  for (const s of sessions) for (let i = 0; i < 100; i++) await sendText(base, s, message256(i))
  const tails = new Map<string, number>()
  for (const s of sessions) tails.set(s.id, Number((await sendText(base, s, 'tail')).cursor))
  const tail = await polls(server, sessions, (s) => tails.get(s.id)!)
  const page = await polls(server, sessions, (s) => tails.get(s.id)! - 101)
  const longPoll = await deliveryLatency(base, sessions, 'long-poll')
  const sse = await deliveryLatency(base, sessions, 'sse')
  return {
    sendRps: send.rps,
    tailPollRps: tail.rps,
    pagePollRps: page.rps,
    longPoll,
    sse,
    errors: send.errors + send.non2xx + tail.errors + tail.non2xx + page.errors + page.non2xx,
  }
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN)
  return read('used_cpu_user') + read('used_cpu_sys')
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN)
}

async function removeKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
}

/** Redis memory per session (creator + one guest) with `messages` 256-byte messages, over `count` sessions. */
async function redisBytesPerSession(redis: Redis, count: number, messages: number): Promise<number> {
  const prefix = `nexus-bench:${randomBytes(4).toString('hex')}:`
  const store = new RedisStore({ maxSessions: count * 2, maxMessagesPerSession: 10_000, url: redisUrl, prefix })
  const now = Date.now()
  try {
    const before = await usedMemory(redis)
    for (let i = 0; i < count; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - i) }, async () => {
        const id = newSessionId()
        await store.create({ id, ttlSeconds: 3600, maxAgents: 50, creatorAgentId: 'host', creator: { agentId: 'host', keyHash: hashSessionKey(`${id}host`) } }, now)
        await store.join(id, { agentId: 'guest', keyHash: hashSessionKey(`${id}guest`) }, now)
        for (let m = 0; m < messages; m++) {
          await store.append(id, { id: newMessageId(), agentId: 'host', text: message256(m), verified: true, redactions: [], bytes: 256 }, undefined, now)
        }
      }))
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    return ((await usedMemory(redis)) - before) / count
  } finally {
    await store.close()
    await removeKeys(redis, prefix)
  }
}

export async function runRedisBench(): Promise<Record<string, number>> {
  const redis = new Redis(redisUrl)
  const prefix = `nexus-bench:${randomBytes(4).toString('hex')}:`
  const figures: Record<string, number> = {}
  try {
    process.stderr.write('redis bench: memory store\n')
    const memoryServer = await startInstance('nexus-memory', { STORE: 'memory' })
    let memory: StoreRun
    try {
      memory = await measure(memoryServer, await makeSessions(memoryServer.base, 100))
    } finally {
      await memoryServer.stop()
    }

    process.stderr.write('redis bench: redis store, two instances\n')
    const env = { STORE: 'redis', REDIS_URL: redisUrl, REDIS_PREFIX: prefix }
    const a = await startInstance('nexus-redis-a', env)
    const b = await startInstance('nexus-redis-b', env)
    let red: StoreRun
    let cross: { longPoll: LatencyResult; sse: LatencyResult }
    let cpuPerSend: number
    let cpuPerPoll: number
    try {
      const sessions = await makeSessions(a.base, 100)
      const cpuBefore = await redisCpuSeconds(redis)
      const send = await sends(a, sessions)
      cpuPerSend = ((await redisCpuSeconds(redis)) - cpuBefore) / send.total
      const cursors = new Map<string, number>()
      for (const s of sessions) cursors.set(s.id, Number((await sendText(a.base, s, 'tail')).cursor))
      const cpuBeforePoll = await redisCpuSeconds(redis)
      const poll = await polls(a, sessions, (s) => cursors.get(s.id)!)
      cpuPerPoll = ((await redisCpuSeconds(redis)) - cpuBeforePoll) / poll.total
      red = await measure(a, sessions)
      // B has served nothing yet: warm it up first, as A was by the runs above. Cold, its
      // sends queued behind an interpreter running at a fraction of its speed, and the first
      // cross-instance run measured that queue (p50s of 0.1-0.8 s).
      await sends(b, sessions, 2)
      cross = {
        longPoll: await deliveryLatency(a.base, sessions, 'long-poll', 1000, 5, b.base),
        sse: await deliveryLatency(a.base, sessions, 'sse', 1000, 5, b.base),
      }
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }

    const runs = { memoryLongPoll: memory.longPoll, memorySse: memory.sse, redisLongPoll: red.longPoll, redisSse: red.sse, crossLongPoll: cross.longPoll, crossSse: cross.sse }
    for (const [name, r] of Object.entries(runs)) {
      process.stderr.write(`  ${name}: received ${r.received}/${r.sent}, duplicates ${r.duplicates}, out of order ${r.outOfOrder}\n`)
    }
    Object.assign(figures, {
      memorySendRps: memory.sendRps,
      redisSendRps: red.sendRps,
      sendRatio: red.sendRps / memory.sendRps,
      memoryTailPollRps: memory.tailPollRps,
      redisTailPollRps: red.tailPollRps,
      tailPollRatio: red.tailPollRps / memory.tailPollRps,
      pagePollRatio: red.pagePollRps / memory.pagePollRps,
      memoryLongPollP50ms: memory.longPoll.p50ms,
      memoryLongPollP99ms: memory.longPoll.p99ms,
      redisLongPollP50ms: red.longPoll.p50ms,
      redisLongPollP99ms: red.longPoll.p99ms,
      longPollP50Ratio: red.longPoll.p50ms / memory.longPoll.p50ms,
      longPollP99Ratio: red.longPoll.p99ms / memory.longPoll.p99ms,
      memorySseP50ms: memory.sse.p50ms,
      memorySseP99ms: memory.sse.p99ms,
      redisSseP50ms: red.sse.p50ms,
      redisSseP99ms: red.sse.p99ms,
      sseP50Ratio: red.sse.p50ms / memory.sse.p50ms,
      sseP99Ratio: red.sse.p99ms / memory.sse.p99ms,
      crossInstanceLongPollP50ms: cross.longPoll.p50ms,
      crossInstanceLongPollP99ms: cross.longPoll.p99ms,
      crossInstanceSseP50ms: cross.sse.p50ms,
      crossInstanceSseP99ms: cross.sse.p99ms,
      /** 1 when every latency run delivered every message exactly once, in order. */
      allDeliveriesValid: Object.values(runs).every((r) => r.valid) ? 1 : 0,
      errors: memory.errors + red.errors,
      redisCpuMicrosPerSend: cpuPerSend * 1e6,
      redisSendsPerCoreSecond: 1 / cpuPerSend,
      redisCpuMicrosPerTailPoll: cpuPerPoll * 1e6,
    })

    process.stderr.write('redis bench: redis memory per session\n')
    figures.redisBytesPerIdleSession = await redisBytesPerSession(redis, 5000, 0)
    const withMessages = await redisBytesPerSession(redis, 2000, 50)
    figures.redisBytesPerSessionWith50Messages = withMessages
    figures.redisBytesPerMessage256 = (withMessages - figures.redisBytesPerIdleSession) / 50
    return figures
  } finally {
    await removeKeys(redis, prefix)
    redis.disconnect()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stderr.write(`bench: ${pinSelf()}\n`)
  const figures = await runRedisBench()
  for (const [name, value] of Object.entries(figures)) process.stdout.write(`${name.padEnd(36)} ${Number.isInteger(value) ? value : value.toFixed(3)}\n`)
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  writeFileSync(new URL('./results/redis.json', import.meta.url), JSON.stringify({ at: new Date().toISOString(), figures }, null, 2))
  process.stdout.write('\nwritten to bench/results/redis.json\n')
}
