import { existsSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import autocannon from 'autocannon'
import type { BenchSession } from './fixtures.js'
import type { Server } from './processes.js'
import { sendRequests } from './throughput.js'

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resident memory after a full collection (the server runs with the bench's gc-on-signal preload). */
export async function settledRss(server: Server): Promise<number> {
  return (await settledMemory(server)).rss
}

/** RSS and V8 heap (used + external) after a full collection. */
export async function settledMemory(server: Server): Promise<{ rss: number; heap: number }> {
  server.child.kill('SIGUSR2')
  await pause(500)
  server.child.kill('SIGUSR2')
  await pause(500)
  const rss = server.rss()
  const file = process.env.NEXUS_BENCH_MEMORY_FILE
  if (!file || !existsSync(file)) return { rss, heap: Number.NaN }
  const usage = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number; external: number }
  return { rss, heap: usage.heapUsed + usage.external }
}

/** Requests a server holds open: what to ask for, and how many it says it holds right now. */
interface Holds {
  path(i: number): string
  held(): Promise<number>
}

const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>

/** Waits until the server holds `count` requests (or 30 s pass); answers how many it holds. */
async function untilHeld(holds: Holds, count: number): Promise<number> {
  const deadline = Date.now() + 30_000
  let held = await holds.held()
  while (held < count && Date.now() < deadline) {
    await pause(50)
    held = await holds.held()
  }
  return held
}

/**
 * Server memory per held request: `count` raw connections each holding one, measured against the
 * same server before they arrived. They are opened 500 at a time, each batch only once the server
 * holds the one before: thousands of connects at once overflow the listen backlog, the kernel
 * retries the dropped ones seconds later, and memory read in the meantime counts only the
 * requests that happened to be in.
 */
async function idleHolds(server: Server, holds: Holds, count: number) {
  const { port } = new URL(server.base)
  const before = await settledMemory(server)
  const sockets: Socket[] = []
  let answered = 0
  let held = 0
  for (let i = 0; i < count; i++) {
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => {})
    socket.on('data', () => answered++)
    socket.write(`GET ${holds.path(i)} HTTP/1.1\r\nHost: bench\r\nx-agent-id: guest\r\n\r\n`)
    sockets.push(socket)
    if (i % 500 === 499 || i === count - 1) held = await untilHeld(holds, i + 1)
  }
  await pause(1000)
  const after = await settledMemory(server)
  for (const socket of sockets) socket.destroy()
  await pause(500)
  return { count, held, answeredEarly: answered, bytesPer: (after.rss - before.rss) / count, heapBytesPer: (after.heap - before.heap) / count, before, after }
}

/** Idle long-polls at the tail of the sessions, counted by the server's own `/v1/stats`. */
export function idleWaiters(server: Server, sessions: BenchSession[], count = 10_000) {
  return idleHolds(server, {
    path: (i) => `/v1/sessions/${sessions[i % sessions.length]!.id}/messages?after=999999999&wait=60`,
    held: async () => (await getJson<{ waitingRequests: number }>(`${server.base}/v1/stats`)).waitingRequests,
  }, count)
}

/** The same number of requests held by the bare Fastify process (bench/bare-server.ts), for scale. */
export function bareHolds(server: Server, count = 10_000) {
  return idleHolds(server, {
    path: () => '/hold',
    held: async () => (await getJson<{ held: number }>(`${server.base}/held`)).held,
  }, count)
}

/** Server memory per idle session (no members, no messages), from `count` creates. */
export async function idleSessions(server: Server, count = 100_000) {
  const before = await settledMemory(server)
  const result = await autocannon({
    url: `${server.base}/v1/sessions`,
    method: 'PUT',
    connections: 20,
    amount: count,
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  const after = await settledMemory(server)
  return { count, created: result['2xx'], failed: result.non2xx + result.errors, bytesPer: (after.rss - before.rss) / count, heapBytesPer: (after.heap - before.heap) / count, before, after }
}

/** Server memory per kept message: `count` acknowledged 256-byte sends, spread over the sessions. */
export async function keptMessages(server: Server, sessions: BenchSession[], count = 100_000) {
  const before = await settledMemory(server)
  const result = await autocannon({
    url: server.base,
    connections: 20,
    amount: count,
    requests: sendRequests(sessions),
  })
  const after = await settledMemory(server)
  return { count, stored: result['2xx'], failed: result.non2xx + result.errors, bytesPer: (after.rss - before.rss) / count, heapBytesPer: (after.heap - before.heap) / count, before, after }
}
