import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { RedisStore } from '../../src/store/redis.js'
import { storeConformance } from './conformance.js'

/** The conformance suite, unchanged, on a real Redis (REDIS_URL, default the local one). */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const run = `nexus-test:${randomBytes(6).toString('hex')}`
let stores = 0

t.teardown(async () => {
  const redis = new Redis(url)
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
  await redis.quit()
})

// A prefix per store: each test of the suite has its own index, counters and capacity.
storeConformance(t, (limits) => new RedisStore({ ...limits, url, prefix: `${run}:${++stores}:` }))

t.test('STORE=redis builds this store from the configuration', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js')
  const { createStore } = await import('../../src/store/index.js')
  t.equal(loadConfig({}).store.kind, 'sqlite', 'a SQLite file by default')
  const config = loadConfig({ STORE: 'redis', REDIS_URL: url, REDIS_PREFIX: `${run}:config:` })
  t.same(config.store, { kind: 'redis', dataDir: './data', sqliteSynchronous: 'normal', redisUrl: url, redisPrefix: `${run}:config:` })
  t.same(loadConfig({ STORE: 'redis' }).store, { kind: 'redis', dataDir: './data', sqliteSynchronous: 'normal', redisUrl: 'redis://127.0.0.1:6379', redisPrefix: 'nexus:' })
  const store = createStore(config)
  t.teardown(() => store.close())
  t.ok(store instanceof RedisStore)
  t.equal((store as RedisStore).prefix, `${run}:config:`)
  t.equal(await (store as RedisStore).ping(), true)
  for (const env of [{ STORE: 'mongo' }, { REDIS_URL: 'http://localhost:6379' }, { REDIS_PREFIX: 'a{b}:' }]) {
    t.throws(() => loadConfig(env), ConfigError, JSON.stringify(env))
  }
})

t.test('an unreachable Redis answers store_unavailable quickly, and nothing is left pending', async (t) => {
  const store = new RedisStore({ maxSessions: 10, maxMessagesPerSession: 10, url: 'redis://127.0.0.1:1', prefix: `${run}:nowhere:` })
  t.teardown(() => store.close())
  const started = Date.now()
  await t.rejects(store.status('0'.repeat(48), Date.now()), { code: 'store_unavailable', status: 503 })
  t.ok(Date.now() - started < 3000, 'fails within the connect wait')
  t.equal(await store.ping(), false)
  const watcher = { onSessionEvent: () => {} }
  store.watch('0'.repeat(48), watcher)
  store.unwatch('0'.repeat(48), watcher)
})
