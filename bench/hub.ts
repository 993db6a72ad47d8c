import { pathToFileURL } from 'node:url'
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client'
import { WebSocket } from 'ws'
import { settledRss } from './memory.js'
import { benchText, type DeliveryFigures, DeliveryTally, paced, WARMUP_SECONDS } from './tally.js'
import { pinSelf, type Server, startServer } from './processes.js'

/**
 * The chat hub against Socket.IO rooms, measured by one harness in one run (see
 * references/hub.md, "Performance"):
 *
 * - delivery latency at 1,000 messages/s spread over 100 channels, one sender and one receiver
 *   per channel, from the send call to the receiver holding the message: p50, p99, max (a run is
 *   valid only if every message arrived exactly once and in order);
 * - server memory per idle connection with 10,000 held (RSS after a forced GC, minus before).
 *
 * Both servers run the same way (`node --import tsx`, pinned to core 0 when possible, with
 * bench/gc-on-signal.cjs), and both are driven from this process with the same schedule.
 *
 *     node --import tsx bench/hub.ts [latency|memory]   # alone; or runHubBench() from bench/run.ts
 */

const CHANNELS = 100
const RATE = 1000
const SECONDS = 5
const IDLE_CONNECTIONS = 10_000
const gcEnv = { NODE_OPTIONS: '--expose-gc --require ./bench/gc-on-signal.cjs' }
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One channel as the harness sees it: a way to send into it, and a way to hear its receiver. */
interface Pair {
  send(text: string): void
  onReceive(listener: (text: string) => void): void
}

interface Harness {
  pairs: Pair[]
  close(): void
}

function startHub(): Promise<Server> {
  return startServer('nexus hub', ['--import', 'tsx', 'src/server.ts'], {
    ...gcEnv,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    HUB_FRAMES_PER_SECOND: '100000',
    HUB_MAX_CONNECTIONS: '50000',
    // Every bench connection comes from 127.0.0.1.
    HUB_MAX_CONNECTIONS_PER_IP: '50000',
    MAX_MESSAGES_PER_SESSION: '100000',
  }, '/health')
}

function startSocketIo(): Promise<Server> {
  return startServer('socket.io', ['--import', 'tsx', 'bench/socketio-server.ts'], gcEnv, '/ready')
}

const wsUrl = (server: Server) => server.base.replace(/^http/, 'ws')

/** A hub connection that has said who it is. */
async function hubSocket(url: string, agentId: string): Promise<{ ws: WebSocket; next: (type: string) => Promise<any> }> {
  const ws = new WebSocket(url)
  const waiting = new Map<string, (frame: any) => void>()
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString())
    const wake = waiting.get(frame.type)
    if (wake) {
      waiting.delete(frame.type)
      wake(frame)
    }
  })
  const next = (type: string) => new Promise<any>((resolve) => waiting.set(type, resolve))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const connected = next('connected')
  ws.send(JSON.stringify({ type: 'connect', agent_id: agentId }))
  await connected
  return { ws, next }
}

/** Per channel: a provider (the sender) and a consumer (the receiver), in an accepted chat. */
async function hubHarness(server: Server): Promise<Harness> {
  const url = wsUrl(server)
  const sockets: WebSocket[] = []
  const pairs: Pair[] = []
  for (let i = 0; i < CHANNELS; i++) {
    const provider = await hubSocket(url, `bench-provider-${i}`)
    const consumer = await hubSocket(url, `bench-consumer-${i}`)
    sockets.push(provider.ws, consumer.ws)
    const registered = provider.next('registered')
    provider.ws.send(JSON.stringify({ type: 'register', service_id: `bench-${i}` }))
    await registered
    const requested = provider.next('chat_request')
    consumer.ws.send(JSON.stringify({ type: 'chat_request', request_id: `r${i}`, service_id: `bench-${i}` }))
    await requested
    const accepted = consumer.next('chat_accept')
    provider.ws.send(JSON.stringify({ type: 'chat_accept', consumer_id: `bench-consumer-${i}` }))
    const channelId: string = (await accepted).channel_id
    const listeners: ((text: string) => void)[] = []
    consumer.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      if (frame.type === 'chat_message') for (const listener of listeners) listener(frame.content)
    })
    pairs.push({
      send: (text) => provider.ws.send(JSON.stringify({ type: 'chat_message', channel_id: channelId, content: text })),
      onReceive: (listener) => listeners.push(listener),
    })
  }
  return { pairs, close: () => sockets.forEach((ws) => ws.terminate()) }
}

function ioSocket(url: string): Promise<IoSocket> {
  const socket = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket))
    socket.once('connect_error', reject)
  })
}

/** Per channel: a sender and a receiver socket; the receiver has joined the channel's room. */
async function ioHarness(server: Server): Promise<Harness> {
  const sockets: IoSocket[] = []
  const pairs: Pair[] = []
  for (let i = 0; i < CHANNELS; i++) {
    const sender = await ioSocket(server.base)
    const receiver = await ioSocket(server.base)
    sockets.push(sender, receiver)
    const room = `room-${i}`
    await new Promise<void>((resolve) => receiver.emit('join', room, () => resolve()))
    pairs.push({
      send: (text) => sender.emit('msg', room, text, () => {}),
      onReceive: (listener) => receiver.on('msg', listener),
    })
  }
  return { pairs, close: () => sockets.forEach((socket) => socket.disconnect()) }
}

export type HubLatency = DeliveryFigures

/**
 * Sends `rate` messages per second, evenly spaced and round-robin over the channels, and times
 * each from its send call to its arrival. Warm-up seconds at the same rate come first, unmeasured.
 */
async function deliveryLatency(harness: Harness, rate = RATE, seconds = SECONDS): Promise<HubLatency> {
  const warmup = rate * WARMUP_SECONDS
  const total = rate * seconds
  const tally = new DeliveryTally(total, warmup)
  harness.pairs.forEach((pair, index) => pair.onReceive((text) => tally.received(index, text)))
  await paced(rate, warmup + total, (seq) => {
    const pair = harness.pairs[seq % harness.pairs.length]!
    tally.sent(seq)
    pair.send(benchText(seq))
  })
  await Promise.race([tally.done, pause(10_000)])
  return tally.figures()
}

/** Opens `count` connections, 200 at a time, each through `open` (which resolves once it is idle). */
async function idleConnections(server: Server, open: (i: number) => Promise<() => void>, count = IDLE_CONNECTIONS) {
  const before = await settledRss(server)
  const closers: (() => void)[] = []
  let failed = 0
  for (let start = 0; start < count; start += 200) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(200, count - start) }, (_, k) => open(start + k)))
    for (const result of batch) {
      if (result.status === 'fulfilled') closers.push(result.value)
      else failed++
    }
  }
  await pause(1000)
  const after = await settledRss(server)
  for (const close of closers) close()
  await pause(500)
  return { count, failed, bytesPer: (after - before) / count, before, after }
}

/** Both figures by default; `only` runs one of them. */
export async function runHubBench(only?: 'latency' | 'memory'): Promise<Record<string, number>> {
  const results: Record<string, number> = {}
  if (only !== 'memory') await latencyFigures(results)
  if (only !== 'latency') await memoryFigures(results)
  return results
}

async function latencyFigures(results: Record<string, number>): Promise<void> {
  process.stderr.write('hub: delivery latency (hub, then socket.io)\n')
  for (const [name, start, harnessFor] of [['hub', startHub, hubHarness], ['socketio', startSocketIo, ioHarness]] as const) {
    const server = await start()
    try {
      const harness = await harnessFor(server)
      const latency = await deliveryLatency(harness)
      harness.close()
      results[`${name}P50ms`] = latency.p50ms
      results[`${name}P99ms`] = latency.p99ms
      results[`${name}MaxMs`] = latency.maxms
      results[`${name}Received`] = latency.received
      results[`${name}Sent`] = latency.sent
      results[`${name}Valid`] = latency.valid ? 1 : 0
    } finally {
      await server.stop()
    }
  }
}

async function memoryFigures(results: Record<string, number>): Promise<void> {
  process.stderr.write(`hub: memory per idle connection (${IDLE_CONNECTIONS} held)\n`)
  const hub = await startHub()
  try {
    const url = wsUrl(hub)
    const memory = await idleConnections(hub, async (i) => {
      const { ws } = await hubSocket(url, `idle-${i}`)
      return () => ws.terminate()
    })
    results.hubBytesPerIdleConnection = memory.bytesPer
    results.hubIdleFailed = memory.failed
  } finally {
    await hub.stop()
  }
  const io = await startSocketIo()
  try {
    const memory = await idleConnections(io, async () => {
      const socket = await ioSocket(io.base)
      return () => socket.disconnect()
    })
    results.socketioBytesPerIdleConnection = memory.bytesPer
    results.socketioIdleFailed = memory.failed
  } finally {
    await io.stop()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stderr.write(`bench: ${pinSelf()}\n`)
  const only = process.argv[2]
  const r = await runHubBench(only === 'latency' || only === 'memory' ? only : undefined)
  const f = (n: number | undefined, digits = 2) => (n === undefined || !Number.isFinite(n) ? String(n) : n.toFixed(digits))
  const rows: [string, string, string, boolean | null][] = []
  if (r.hubSent !== undefined) {
    rows.push(
      ['hub delivery, 1000 msg/s over 100 channels: p50 / p99 / max ms', `${f(r.hubP50ms)} / ${f(r.hubP99ms)} / ${f(r.hubMaxMs)}`, 'p99 < 2', r.hubP99ms! < 2],
      ['hub: received exactly once, in order', `${r.hubReceived}/${r.hubSent}`, 'all', r.hubValid === 1],
      ['socket.io rooms, same load: p50 / p99 / max ms', `${f(r.socketioP50ms)} / ${f(r.socketioP99ms)} / ${f(r.socketioMaxMs)}`, '(comparison)', null],
      ['socket.io: received exactly once, in order', `${r.socketioReceived}/${r.socketioSent}`, 'all', r.socketioValid === 1],
    )
  }
  if (r.hubBytesPerIdleConnection !== undefined) {
    rows.push(
      [`hub memory per idle connection (${IDLE_CONNECTIONS} held)`, `${f(r.hubBytesPerIdleConnection / 1024)} KB`, '< 10 KB', r.hubBytesPerIdleConnection < 10 * 1024 && r.hubIdleFailed === 0],
      [`socket.io memory per idle connection (${IDLE_CONNECTIONS} held)`, `${f(r.socketioBytesPerIdleConnection! / 1024)} KB`, '(comparison)', null],
    )
  }
  for (const [figure, value, target, met] of rows) {
    process.stdout.write(`${figure.padEnd(66)} ${value.padEnd(24)} ${target}${met === null ? '' : met ? '  met' : '  NOT met'}\n`)
  }
  process.stdout.write(`${JSON.stringify(r)}\n`)
}
