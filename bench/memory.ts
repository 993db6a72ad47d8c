import { existsSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import autocannon from 'autocannon'
import type { BenchSession } from './fixtures.js'
import type { Server } from './processes.js'

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

/**
 * Server memory per idle long-poll: `count` raw connections each holding a 60 s wait at the tail
 * of a session, measured against the same server before they arrived.
 */
export async function idleWaiters(server: Server, sessions: BenchSession[], count = 10_000) {
  const { port } = new URL(server.base)
  const before = await settledMemory(server)
  const sockets: Socket[] = []
  let answered = 0
  for (let i = 0; i < count; i++) {
    const session = sessions[i % sessions.length]!
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => {})
    socket.on('data', () => answered++)
    socket.write(`GET /v1/sessions/${session.id}/messages?after=999999999&wait=60 HTTP/1.1\r\nHost: bench\r\nx-agent-id: guest\r\n\r\n`)
    sockets.push(socket)
    if (i % 500 === 499) await pause(20)
  }
  await pause(2000)
  const after = await settledMemory(server)
  for (const socket of sockets) socket.destroy()
  await pause(500)
  return { count, answeredEarly: answered, bytesPer: (after.rss - before.rss) / count, heapBytesPer: (after.heap - before.heap) / count, before, after }
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
