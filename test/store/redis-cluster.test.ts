import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createStore } from '../../src/store/index.js'
import { RedisStore } from '../../src/store/redis.js'
import { call, poll, send } from '../helpers.js'
import { createOnAWriteOnB } from '../scale/support.js'
import { storeConformance } from './conformance.js'

/**
 * The Redis store on a Redis Cluster: a throwaway 3-master cluster of this test's own (never the
 * machine's shared Redis), the conformance suite unchanged on it, and two Nexus instances on it.
 */

const run = promisify(execFile)

function installed(command: string): boolean {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error
}

/** Whether nothing listens on the port (of 127.0.0.1). */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port free with its cluster bus port (port + 10000) free too. */
async function freePort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 25000)
    if (taken.includes(port)) continue
    if ((await free(port)) && (await free(port + 10000))) return port
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function startCluster(dir: string, servers: ChildProcess[]): Promise<number[]> {
  const ports: number[] = []
  for (let i = 0; i < 3; i++) ports.push(await freePort(ports))
  for (const port of ports) {
    const server = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir,
    ], { stdio: 'ignore' })
    servers.push(server)
  }
  // Each server answers PING before the cluster is made.
  for (const port of ports) {
    for (let attempt = 0; ; attempt++) {
      const pong = await run('redis-cli', ['-p', String(port), 'ping']).then((r) => r.stdout.trim(), () => '')
      if (pong === 'PONG') break
      if (attempt > 100) throw new Error(`redis-server on port ${port} did not start`)
      await sleep(50)
    }
  }
  await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
  for (const port of ports) {
    for (let attempt = 0; ; attempt++) {
      const info = await run('redis-cli', ['-p', String(port), 'cluster', 'info']).then((r) => r.stdout, () => '')
      if (/cluster_state:ok/.test(info)) break
      if (attempt > 200) throw new Error(`cluster not ok on port ${port}: ${info}`)
      await sleep(50)
    }
  }
  return ports
}

if (!installed('redis-server') || !installed('redis-cli')) {
  t.plan(0, 'redis-server and redis-cli are needed to start a throwaway Redis Cluster; not installed here')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-cluster-'))
  const servers: ChildProcess[] = []
  t.teardown(() => {
    for (const server of servers) server.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const ports = await startCluster(dir, servers)
  const clusterNodes = ports.map((port) => ({ host: '127.0.0.1', port }))
  let stores = 0

  // A prefix per store: each test of the suite has its own index, counters and capacity.
  storeConformance(t, (limits) => new RedisStore({ ...limits, clusterNodes, prefix: `nexus-test:${++stores}:` }))

  t.test('REDIS_CLUSTER_NODES builds the store on a Cluster client', async (t) => {
    const config = loadConfig({ STORE: 'redis', REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(','), REDIS_PREFIX: 'nexus-test:config:' })
    t.same(config.store.redisClusterNodes, clusterNodes)
    const store = createStore(config)
    t.teardown(() => store.close())
    t.ok(store instanceof RedisStore)
    t.ok((store as RedisStore).client instanceof Cluster, 'a Cluster client')
    t.equal(await (store as RedisStore).ping(), true)
    t.throws(() => loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1' }), { name: 'ConfigError' })
  })

  /** Two Nexus instances built from the configuration (STORE=redis, REDIS_CLUSTER_NODES), as two processes would be. */
  async function pair(t: Test, prefix: string, env: Record<string, string> = {}) {
    const config = loadConfig({
      STORE: 'redis',
      REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(','),
      REDIS_PREFIX: prefix,
      RATE_LIMIT_MAX: '1000000',
      ...env,
    })
    const a = await buildApp(config, { logger: false })
    t.teardown(() => a.close())
    const b = await buildApp(config, { logger: false })
    t.teardown(() => b.close())
    return { a, b }
  }

  t.test('two instances on the Cluster: create on A, send on B, a long-poll on A woken by B', async (t) => {
    const { a, b } = await pair(t, 'nexus-test:apps:')
    const { id, guestKey } = await createOnAWriteOnB(t, a, b)

    const waiting = poll(a, id, 'host', 'after=1&wait=10')
    await sleep(150)
    const sentAt = performance.now()
    t.equal((await send(b, id, 'guest', { text: 'wake up' }, guestKey)).status, 201)
    const woken = await waiting
    const latency = performance.now() - sentAt
    t.same(woken.body.messages.map((m: { text: string }) => m.text), ['wake up'])
    t.ok(latency < 1000, `woken ${latency.toFixed(1)} ms after the send`)

    const health = await call(a, { method: 'GET', url: '/health' })
    t.match(health.body, { status: 'ok', store: 'redis', storeReachable: true })
    const stats = await call(b, { method: 'GET', url: '/v1/stats' })
    t.match(stats.body, { activeSessions: 1, totalAgents: 2, totalMessages: 3 })
  })

  t.test('the rate limit counts across instances on the Cluster', async (t) => {
    const { a, b } = await pair(t, 'nexus-test:rate:', { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '60' })
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await call(i % 2 === 0 ? a : b, { method: 'PUT', url: '/v1/sessions' })).status)
    t.same(statuses, [201, 201, 201, 201, 201, 429])
  })
}
