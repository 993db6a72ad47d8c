import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { type BenchSession, makeSessions, message256, sendText } from './fixtures.js'
import { deliveryLatency } from './latency.js'
import { bareHolds, idleSessions, idleWaiters, keptMessages } from './memory.js'
import { pinSelf, startBare, startNexus, startStackFloor } from './processes.js'
import { bareEcho, bareGet, compared, medianCpuMicros, medianRps, non2xx, type Paired, paired, polls, sends } from './throughput.js'

/**
 * `npm run bench`: Nexus against the ceiling of this machine (a bare Fastify process) and the
 * stack floor (bench/stack-floor.ts), measured in one run so the ratios mean something on a
 * shared, noisy machine. Prints one table and
 * writes bench/results/latest.json. How to read it: bench/README.md.
 */

interface Row {
  figure: string
  value: string
  target: string
  met: boolean | null
}

const rows: Row[] = []
const results: Record<string, unknown> = {}
const row = (figure: string, value: string, target: string, met: boolean | null) => {
  rows.push({ figure, value, target, met })
  process.stderr.write(`  ${figure}: ${value}\n`)
}
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : String(n))
const only = process.argv.slice(2)
const wanted = (name: string) => only.length === 0 || only.includes(name)

const placement = pinSelf()
process.stderr.write(`bench: ${placement}\n`)
// cpus(), not availableParallelism(): this process has just pinned itself to one core.
results.machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), placement }

if (wanted('http')) {
  process.stderr.write('throughput and latency (memory store)\n')
  const bare = await startBare()
  const floor = await startStackFloor()
  const nexus = await startNexus({ MAX_MESSAGES_PER_SESSION: '100000' })
  try {
    const sessions = await makeSessions(nexus.base, 100)
    // Three rounds, the ceiling, Nexus and the stack floor in turn: the median ratio (bench/README.md).
    const spread = (ratios: number[]) => ratios.map((r) => fixed(r)).join(', ')
    const cpu = (p: Paired, bareName: string) =>
      `${fixed(medianCpuMicros(p.measured), 1)} (${bareName} ${fixed(medianCpuMicros(p.bare), 1)}; ratio ${fixed(p.cpuRatio)})`
    const [send, sendFloor] = await compared(3, (d) => bareEcho(bare, d), [(d) => sends(nexus, sessions, d), (d) => sends(floor, sessions, d)])
    results.send = send
    results.sendStackFloor = sendFloor
    row('send: acknowledged 256 B messages/s, 100 sessions (median)', `${fixed(medianRps(send.measured), 0)} (bare echo ${fixed(medianRps(send.bare), 0)})`, '', null)
    row('send ratio to bare POST echo (median of rounds)', `${fixed(send.ratio)} (rounds ${spread(send.ratios)})`, '>= 0.7', send.ratio >= 0.7 && non2xx(send.measured) === 0)
    row('  server CPU per send, µs (median)', cpu(send, 'bare echo'), '', null)
    row('  stack floor: send ratio, constant reply (median of rounds)', `${fixed(sendFloor.ratio)} (rounds ${spread(sendFloor.ratios)})`, '(for reference)', null)
    row('    server CPU per send, µs (median)', cpu(sendFloor, 'bare echo'), '', null)

    for (const s of sessions) for (let i = 0; i < 100; i++) await sendText(nexus.base, s, message256(i))
    const tails = new Map<string, number>()
    for (const s of sessions) tails.set(s.id, Number((await sendText(nexus.base, s, 'tail')).cursor))
    const tailAfter = (s: BenchSession) => tails.get(s.id)!
    const [tailPoll, tailFloor] = await compared(3, (d) => bareGet(bare, d), [(d) => polls(nexus, sessions, tailAfter, d), (d) => polls(floor, sessions, tailAfter, d)])
    const pagePoll = await paired(1, (d) => bareGet(bare, d), (d) => polls(nexus, sessions, (s) => tails.get(s.id)! - 101, d))
    results.poll = { tail: tailPoll, tailStackFloor: tailFloor, page100: pagePoll }
    row('poll at the tail (nothing new)/s (median)', `${fixed(medianRps(tailPoll.measured), 0)} (bare GET ${fixed(medianRps(tailPoll.bare), 0)})`, '', null)
    row('poll ratio to bare GET, at the tail (median of rounds)', `${fixed(tailPoll.ratio)} (rounds ${spread(tailPoll.ratios)})`, '>= 0.8', tailPoll.ratio >= 0.8 && non2xx(tailPoll.measured) === 0)
    row('  server CPU per tail poll, µs (median)', cpu(tailPoll, 'bare GET'), '', null)
    row('  stack floor: tail-poll ratio, constant reply (median of rounds)', `${fixed(tailFloor.ratio)} (rounds ${spread(tailFloor.ratios)})`, '(for reference)', null)
    row('    server CPU per tail poll, µs (median)', cpu(tailFloor, 'bare GET'), '', null)
    row('poll ratio to bare GET, full page of 100 (~40 KB)', fixed(pagePoll.ratio), '(for reference)', null)
  } finally {
    await Promise.all([bare.stop(), floor.stop(), nexus.stop()])
  }

  // Delivery on a server of its own: the throughput runs above leave hundreds of thousands of
  // messages in the store, and how long a full collection of that heap pauses would be timed
  // as delivery (bench/README.md, "Delivery tails").
  const fresh = await startNexus()
  try {
    const sessions = await makeSessions(fresh.base, 100)
    for (const transport of ['long-poll', 'sse'] as const) {
      const latency = await deliveryLatency(fresh.base, sessions, transport)
      results[`latency_${transport}`] = latency
      const target = transport === 'sse' ? 2 : 5
      row(`delivery ${transport}, 1000 msg/s over 100 sessions: p50 / p99 / max ms`, `${fixed(latency.p50ms)} / ${fixed(latency.p99ms)} / ${fixed(latency.maxms)}`, `p99 < ${target}`, latency.p99ms < target)
      row(`delivery ${transport}: received exactly once, in order`, `${latency.received}/${latency.sent}, dup ${latency.duplicates}, disorder ${latency.outOfOrder}`, 'all', latency.valid)
    }
  } finally {
    await fresh.stop()
  }
}

const gcArgs = ['--expose-gc', '--require', './bench/gc-on-signal.cjs']
process.env.NEXUS_BENCH_MEMORY_FILE = join(mkdtempSync(join(tmpdir(), 'nexus-bench-')), 'memory.json')

if (wanted('memory')) {
  process.stderr.write('memory\n')
  const nexus = await startNexus({ NODE_OPTIONS: gcArgs.join(' ') })
  try {
    const sessions = await makeSessions(nexus.base, 100)
    const waiters = await idleWaiters(nexus, sessions, 10_000)
    results.idleWaiters = waiters
    const allHeld = waiters.held === waiters.count && waiters.answeredEarly === 0
    row('memory per idle long-poll waiter (10,000 held): RSS, connection included', `${fixed(waiters.bytesPer / 1024)} KB${allHeld ? '' : ` (only ${waiters.held} held: invalid)`}`, '< 10 KB', waiters.bytesPer < 10 * 1024 && allHeld)
    row('  of which V8 heap', `${fixed(waiters.heapBytesPer / 1024)} KB`, '', null)
  } finally {
    await nexus.stop()
  }
  const bare = await startBare({ NODE_OPTIONS: gcArgs.join(' ') })
  try {
    const holds = await bareHolds(bare, 10_000)
    results.bareHolds = holds
    row('  for scale: bare Fastify, per request held (10,000): RSS', `${fixed(holds.bytesPer / 1024)} KB${holds.held === holds.count ? '' : ` (only ${holds.held} held)`}`, '', null)
    row('    of which V8 heap', `${fixed(holds.heapBytesPer / 1024)} KB`, '', null)
  } finally {
    await bare.stop()
  }
  const fresh = await startNexus({ NODE_OPTIONS: gcArgs.join(' ') })
  try {
    const idle = await idleSessions(fresh, 100_000)
    results.idleSessions = idle
    row('memory per idle session (100,000 held, no messages): RSS', `${fixed(idle.bytesPer, 0)} B`, '< 1 KB', idle.bytesPer < 1024 && idle.failed === 0)
    row('  of which V8 heap', `${fixed(idle.heapBytesPer, 0)} B`, '', null)
  } finally {
    await fresh.stop()
  }
  const keeping = await startNexus({ NODE_OPTIONS: gcArgs.join(' ') })
  try {
    const kept = await keptMessages(keeping, await makeSessions(keeping.base, 100), 100_000)
    results.keptMessages = kept
    row('memory per kept 256 B message (100,000 over 100 sessions): RSS', `${fixed(kept.bytesPer, 0)} B${kept.failed === 0 ? '' : ` (${kept.failed} failed: invalid)`}`, '(for reference)', null)
    row('  of which V8 heap', `${fixed(kept.heapBytesPer, 0)} B`, '', null)
  } finally {
    await keeping.stop()
  }
}

if (wanted('hub') && existsSync(new URL('./hub.ts', import.meta.url))) {
  process.stderr.write('WebSocket hub, beside Socket.IO rooms\n')
  const { runHubBench } = await import('./hub.js')
  const hub = await runHubBench()
  results.hub = hub
  for (const name of ['hub', 'socketio']) {
    const label = name === 'hub' ? 'hub' : 'Socket.IO rooms'
    row(`delivery ${label}, 1000 msg/s over 100 channels: p50 / p99 / max ms`, `${fixed(hub[`${name}P50ms`]!)} / ${fixed(hub[`${name}P99ms`]!)} / ${fixed(hub[`${name}MaxMs`]!)}`, name === 'hub' ? 'p99 < 2' : '(comparison)', name === 'hub' ? hub.hubP99ms! < 2 : null)
    row(`delivery ${label}: received exactly once, in order`, `${hub[`${name}Received`]}/${hub[`${name}Sent`]}`, 'all', hub[`${name}Valid`] === 1)
    row(`memory per idle ${label} connection (10,000 held)`, `${fixed(hub[`${name}BytesPerIdleConnection`]! / 1024)} KB`, name === 'hub' ? '< 10 KB' : '(comparison)', name === 'hub' ? hub.hubBytesPerIdleConnection! < 10 * 1024 : null)
  }
}

if (wanted('redis') && existsSync(new URL('./redis.ts', import.meta.url))) {
  process.stderr.write('Redis store, as ratios of the memory store\n')
  const { runRedisBench } = await import('./redis.js')
  const redis = await runRedisBench()
  results.redis = redis
  for (const [key, value] of Object.entries(redis)) row(`redis ${key}`, fixed(value), '', null)
}

if (wanted('sqlite') && existsSync(new URL('./sqlite.ts', import.meta.url))) {
  process.stderr.write('sqlite store against the memory store\n')
  const { runSqliteBench } = await import('./sqlite.js')
  const sqlite = await runSqliteBench()
  results.sqlite = sqlite
  row('sqlite send ratio to memory (median of rounds)', fixed(sqlite.sendRatio!), '>= 0.8', sqlite.sendRatio! >= 0.8 && sqlite.errors === 0)
  row('sqlite tail-poll ratio to memory (median of rounds)', fixed(sqlite.tailPollRatio!), '>= 0.8', sqlite.tailPollRatio! >= 0.8 && sqlite.errors === 0)
  row('sqlite long-poll delivery p50 / p99, ms (memory)', `${fixed(sqlite.sqliteLongPollP50ms!)} / ${fixed(sqlite.sqliteLongPollP99ms!)} (${fixed(sqlite.memoryLongPollP50ms!)} / ${fixed(sqlite.memoryLongPollP99ms!)})`, 'p99 within 1 ms', sqlite.longPollP99GapMs! <= 1 && sqlite.allDeliveriesValid === 1)
  row('sqlite sweep of 100,000 expired sessions: longest pause, ms', `${fixed(sqlite.sweepLongestPauseMs!)} (CPU in it ${fixed(sqlite.sweepLongestPauseCpuMs!)}; idle loop's longest gap ${fixed(sqlite.idleLoopLongestGapMs!)}; whole sweep ${fixed(sqlite.sweepTotalMs! / 1000)} s)`, '< 10', sqlite.sweepLongestPauseMs! < 10)
  for (const [key, value] of Object.entries(sqlite)) row(`sqlite ${key}`, fixed(value), '', null)
}

if (wanted('redaction') && existsSync(new URL('./redact.ts', import.meta.url))) {
  process.stderr.write('redaction\n')
  // In a process of its own: the load phases above leave this one's heap and JIT in no state to
  // time a tight loop (it measured half its standalone speed here).
  const redaction = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e',
    "import('./bench/redact.ts').then((m) => m.runRedactionBench()).then((r) => process.stdout.write(JSON.stringify(r)))"], { encoding: 'utf8' })) as Record<string, number>
  results.redaction = redaction
  row('redaction, ordinary chat text', `${fixed(redaction.ordinaryMBps!, 1)} MB/s`, '>= 50 MB/s', redaction.ordinaryMBps! >= 50)
  row('redaction, secret-dense text', `${fixed(redaction.denseMBps!, 1)} MB/s`, '', null)
}

if (wanted('cli') && existsSync(new URL('./cli.ts', import.meta.url))) {
  process.stderr.write('nexus.sh\n')
  const { runCliBench } = await import('./cli.js')
  const cli = await runCliBench()
  results.cli = cli
  for (const [command, pair] of [['send', cli.send], ['poll', cli.poll]] as const) {
    row(`nexus.sh ${command} over plain curl (${pair.calls} calls, ${fixed(pair.cliPerCall, 1)} vs ${fixed(pair.curlPerCall, 1)} ms each)`, fixed(pair.ratio), '< 2', pair.ratio < 2)
  }
}

if (wanted('webhooks') && existsSync(new URL('./webhooks.ts', import.meta.url))) {
  process.stderr.write('webhooks, beside long-poll\n')
  const { runWebhookBench } = await import('./webhooks.js')
  const hooks = await runWebhookBench()
  results.webhooks = hooks
  row('delivery webhook, 1000 msg/s over 100 sessions: p50 / p99 / max ms', `${fixed(hooks.webhookP50ms!)} / ${fixed(hooks.webhookP99ms!)} / ${fixed(hooks.webhookMaxMs!)}`, '(beside long-poll)', null)
  row('delivery webhook: received exactly once, in order', `${hooks.webhookReceived}/${hooks.webhookSent}, dup ${hooks.webhookDuplicates}, disorder ${hooks.webhookOutOfOrder}`, 'all', hooks.webhookValid === 1)
  row('  webhook POSTs for those messages (warm-up included)', String(hooks.webhookPosts), '', null)
  row('  long-poll in the same run: p50 / p99 ms', `${fixed(hooks.longPollP50ms!)} / ${fixed(hooks.longPollP99ms!)}`, '', null)
  row('send throughput with 100 webhooks over without (median of rounds)', `${fixed(hooks.sendRatio!)} (${fixed(hooks.sendRpsWithWebhooks!, 0)} vs ${fixed(hooks.sendRpsWithout!, 0)}/s)`, '>= 0.9', hooks.sendRatio! >= 0.9 && hooks.sendErrors === 0)
}

const width = Math.max(...rows.map((r) => r.figure.length))
const valueWidth = Math.max(...rows.map((r) => r.value.length))
process.stdout.write(`\n${'figure'.padEnd(width)}  ${'value'.padEnd(valueWidth)}  target\n`)
for (const r of rows) {
  const verdict = r.met === null ? '' : r.met ? '  met' : '  NOT met'
  process.stdout.write(`${r.figure.padEnd(width)}  ${r.value.padEnd(valueWidth)}  ${r.target}${verdict}\n`)
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/latest.json', import.meta.url), JSON.stringify({ at: new Date().toISOString(), rows, results }, null, 2))
process.stdout.write('\nwritten to bench/results/latest.json\n')
