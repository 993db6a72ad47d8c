import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults are the contract\'s', async (t) => {
  const config = loadConfig({})
  t.match(config, { port: 8765, host: '127.0.0.1', publicUrl: undefined, trustProxy: false, logLevel: 'info' })
  t.same(config.rateLimit, { max: 100, windowSeconds: 60 })
  t.same(config.limits, {
    maxTtlSeconds: 86400, maxAgents: 50, agentInactivitySeconds: 0, pairCodeTtlSeconds: 600,
    maxPendingCodes: 10, pairFailuresMax: 10, pairFailuresWindowSeconds: 600,
    maxMessageBytes: 65536, maxMessagesPerSession: 10000, maxSessions: 100000,
    maxPageBytes: 1048576, maxSessionBytes: 16777216, maxStoreBytes: 268435456,
  })
  t.equal(config.slowReaderSeconds, 30)
  t.match(config.hub, { maxConnections: 10000, maxConnectionsPerAddress: 100, connectTimeoutSeconds: 5, serviceTtlSeconds: 300 })
  t.same(config.http, { requestTimeoutMs: 30_000, maxConnectionsPerAddress: 256 })
  t.match(config.store, { kind: 'sqlite', dataDir: './data', sqliteSynchronous: 'normal' }, 'a SQLite file under ./data')
})

t.test('the pairing guards are configurable, and refuse zero', async (t) => {
  const config = loadConfig({ MAX_CODES_PER_SESSION: '3', PAIR_FAILURES_MAX: '5', PAIR_FAILURES_WINDOW_SECONDS: '3600' })
  t.match(config.limits, { maxPendingCodes: 3, pairFailuresMax: 5, pairFailuresWindowSeconds: 3600 })
  for (const name of ['MAX_CODES_PER_SESSION', 'PAIR_FAILURES_MAX', 'PAIR_FAILURES_WINDOW_SECONDS']) {
    t.throws(() => loadConfig({ [name]: '0' }), ConfigError, `${name}=0 is refused`)
  }
})

t.test('STORE, DATA_DIR and SQLITE_SYNCHRONOUS choose where state lives and how hard it is kept', async (t) => {
  t.match(loadConfig({ STORE: 'memory' }).store, { kind: 'memory' })
  t.match(loadConfig({ DATA_DIR: ' /var/lib/nexus ', SQLITE_SYNCHRONOUS: 'full' }).store, { kind: 'sqlite', dataDir: '/var/lib/nexus', sqliteSynchronous: 'full' })
  t.equal(loadConfig({ DATA_DIR: '' }).store.dataDir, './data', 'empty is the default')
})

t.test('values are parsed', async (t) => {
  const config = loadConfig({ PORT: '0', TRUST_PROXY: '10.0.0.0/8, 127.0.0.1', PUBLIC_URL: 'https://x.example/', MAX_AGENTS: '3' })
  t.equal(config.port, 0)
  t.same(config.trustProxy, ['10.0.0.0/8', '127.0.0.1'])
  t.equal(config.publicUrl, 'https://x.example')
  t.equal(config.limits.maxAgents, 3)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.same(loadConfig({ REQUEST_TIMEOUT_SECONDS: '5', MAX_CONNECTIONS_PER_IP: '0' }).http, { requestTimeoutMs: 5000, maxConnectionsPerAddress: 0 })
})

t.test('a bad value stops the start with one line naming the variable', async (t) => {
  for (const [name, value] of [['PORT', 'eighty'], ['PORT', '70000'], ['MAX_TTL_SECONDS', '30'], ['PUBLIC_URL', 'ftp://x'], ['LOG_LEVEL', 'loud'], ['RATE_LIMIT_MAX', '-1'], ['MAX_AGENTS', '1.5'], ['REDIS_CLUSTER_NODES', 'host-without-port'], ['REDIS_CLUSTER_NODES', 'a:7000,b:0'], ['MAX_PAGE_BYTES', '10'], ['MAX_SESSION_BYTES', '1024'], ['MAX_STORE_BYTES', '2048'], ['REQUEST_TIMEOUT_SECONDS', '0'], ['REQUEST_TIMEOUT_SECONDS', '301'], ['MAX_CONNECTIONS_PER_IP', '-1'], ['STORE', 'mongo'], ['SQLITE_SYNCHRONOUS', 'off']] as const) {
    let error: unknown
    try {
      loadConfig({ [name]: value })
    } catch (err) {
      error = err
    }
    t.ok(error instanceof ConfigError, `${name}=${value} is refused`)
    t.match((error as Error | undefined)?.message, new RegExp(`^${name}=\\S+ is not valid: [^\\n]+$`))
  }
})

t.test('REDIS_CLUSTER_NODES lists the seed nodes of a Redis Cluster', async (t) => {
  t.equal(loadConfig({ STORE: 'redis' }).store.redisClusterNodes, undefined, 'unset: no Cluster')
  t.same(loadConfig({ STORE: 'redis', REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001,[::1]:7002 ' }).store.redisClusterNodes, [
    { host: '10.0.0.1', port: 7000 },
    { host: 'redis-b', port: 7001 },
    { host: '::1', port: 7002 },
  ])
})

t.test('METRICS_TOKEN and METRICS_PORT are optional and checked', async (t) => {
  t.same(loadConfig({}).metrics, { token: undefined, port: undefined }, 'unset: /metrics on the API port, open')
  t.same(loadConfig({ METRICS_TOKEN: ' a-long-enough-token ', METRICS_PORT: '9464' }).metrics, { token: 'a-long-enough-token', port: 9464 })
  t.same(loadConfig({ METRICS_TOKEN: '', METRICS_PORT: '' }).metrics, { token: undefined, port: undefined }, 'empty is unset')
  for (const [name, value] of [['METRICS_TOKEN', 'short'], ['METRICS_TOKEN', 'has a space in the middle'], ['METRICS_PORT', '0'], ['METRICS_PORT', '70000'], ['METRICS_PORT', 'nine']] as const) {
    t.throws(() => loadConfig({ [name]: value }), new RegExp(`^${name}=".*" is not valid: `), `${name}=${value} is refused`)
  }
})

t.test('hub identities: open registration by default, a TTL of 30 days, provisioned ids from a file', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const defaults = loadConfig({}).hubIdentities
  t.same([defaults.openRegistration, defaults.ttlDays, defaults.provisioned.size], [true, 30, 0])
  t.equal(loadConfig({ HUB_OPEN_REGISTRATION: 'false' }).hubIdentities.openRegistration, false)
  t.equal(loadConfig({ HUB_IDENTITY_TTL_DAYS: '7' }).hubIdentities.ttlDays, 7)
  t.throws(() => loadConfig({ HUB_IDENTITY_TTL_DAYS: '0' }), ConfigError)
  t.throws(() => loadConfig({ HUB_OPEN_REGISTRATION: 'maybe' }), ConfigError)

  const dir = mkdtempSync(join(tmpdir(), 'nexus-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const digest = 'ab'.repeat(32)
  const file = join(dir, 'identities')
  writeFileSync(file, `# the bank\nbank-bot ${digest}  # its digest\n\n  alice-agent ${'cd'.repeat(32)}\n`)
  t.same([...loadConfig({ HUB_IDENTITIES: file }).hubIdentities.provisioned], [['bank-bot', digest], ['alice-agent', 'cd'.repeat(32)]])
  const bad: [string, RegExp][] = [
    [`bank-bot\n`, /line 1: expected "agent_id key_digest"/],
    [`bank-bot ${digest} extra\n`, /line 1: expected/],
    [`\nsystem ${digest}\n`, /line 2: "system" is not a valid agent id/],
    [`bank-bot ${digest.toUpperCase()}\n`, /64 lowercase hex/],
    [`bank-bot ${digest}\nbank-bot ${digest}\n`, /line 2: bank-bot is listed twice/],
  ]
  for (const [text, message] of bad) {
    writeFileSync(file, text)
    t.throws(() => loadConfig({ HUB_IDENTITIES: file }), { name: 'ConfigError', message }, JSON.stringify(text))
  }
  t.throws(() => loadConfig({ HUB_IDENTITIES: join(dir, 'missing') }), { message: /cannot be read: ENOENT/ })
})
