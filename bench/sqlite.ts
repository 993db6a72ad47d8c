import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSessionKey, newMessageId, newSessionId } from '../src/core/ids.js'
import { SqliteStore } from '../src/store/sqlite/store.js'
import { makeSessions, message256, sendText } from './fixtures.js'
import { deliveryLatency } from './latency.js'
import { startNexus } from './processes.js'
import { compared, medianRps, non2xx, polls, sends } from './throughput.js'

/**
 * The SQLite store against the memory store, in one run on one machine: send and tail-poll
 * throughput as ratios (SQLite / memory, median of alternating rounds), send throughput with
 * SQLITE_SYNCHRONOUS=full, long-poll delivery p50/p99 on each, then in this process: the file's
 * bytes per idle session and per kept message, and the longest pause of the event loop while the
 * sweep forgets 100,000 sessions that expired at once. `npm run bench -- sqlite` runs only this.
 */

const SWEEP_SESSIONS = 100_000

export async function runSqliteBench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {}
  const dirs: string[] = []
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'nexus-bench-sqlite-'))
    dirs.push(made)
    return made
  }
  try {
    await serverFigures(figures, dir)
    await fileFigures(figures, dir)
    await sweepFigures(figures, dir())
    return figures
  } finally {
    for (const made of dirs) rmSync(made, { recursive: true, force: true })
  }
}

async function serverFigures(figures: Record<string, number>, dir: () => string): Promise<void> {
  process.stderr.write('sqlite bench: throughput, memory against sqlite (normal) and sqlite (full)\n')
  const common = { MAX_MESSAGES_PER_SESSION: '100000' }
  const memory = await startNexus({ ...common, STORE: 'memory' })
  const normal = await startNexus({ ...common, STORE: 'sqlite', DATA_DIR: dir(), SQLITE_SYNCHRONOUS: 'normal' })
  const full = await startNexus({ ...common, STORE: 'sqlite', DATA_DIR: dir(), SQLITE_SYNCHRONOUS: 'full' })
  try {
    const onMemory = await makeSessions(memory.base, 100)
    const onNormal = await makeSessions(normal.base, 100)
    const onFull = await makeSessions(full.base, 100)
    const [send, sendFull] = await compared(3, (d) => sends(memory, onMemory, d), [(d) => sends(normal, onNormal, d), (d) => sends(full, onFull, d)])
    Object.assign(figures, {
      memorySendRps: medianRps(send.bare),
      sqliteSendRps: medianRps(send.measured),
      sqliteFullSendRps: medianRps(sendFull.measured),
      sendRatio: send.ratio,
      sendFullRatio: sendFull.ratio,
    })

    const tails = new Map<string, number>()
    for (const [server, sessions] of [[memory, onMemory], [normal, onNormal]] as const) {
      for (const s of sessions) for (let i = 0; i < 100; i++) await sendText(server.base, s, message256(i))
      for (const s of sessions) tails.set(s.id, Number((await sendText(server.base, s, 'tail')).cursor))
    }
    const at = (s: { id: string }) => tails.get(s.id)!
    const [tail] = await compared(3, (d) => polls(memory, onMemory, at, d), [(d) => polls(normal, onNormal, at, d)])
    Object.assign(figures, {
      memoryTailPollRps: medianRps(tail.bare),
      sqliteTailPollRps: medianRps(tail.measured),
      tailPollRatio: tail.ratio,
      errors: non2xx([...send.bare, ...send.measured, ...sendFull.measured, ...tail.bare, ...tail.measured]),
    })
  } finally {
    await Promise.all([memory.stop(), normal.stop(), full.stop()])
  }

  // Delivery on fresh servers, as in the main bench: the throughput runs leave big stores behind.
  process.stderr.write('sqlite bench: long-poll delivery\n')
  const freshMemory = await startNexus({ STORE: 'memory' })
  const freshSqlite = await startNexus({ STORE: 'sqlite', DATA_DIR: dir() })
  try {
    const memoryRun = await deliveryLatency(freshMemory.base, await makeSessions(freshMemory.base, 100), 'long-poll')
    const sqliteRun = await deliveryLatency(freshSqlite.base, await makeSessions(freshSqlite.base, 100), 'long-poll')
    Object.assign(figures, {
      memoryLongPollP50ms: memoryRun.p50ms,
      memoryLongPollP99ms: memoryRun.p99ms,
      sqliteLongPollP50ms: sqliteRun.p50ms,
      sqliteLongPollP99ms: sqliteRun.p99ms,
      longPollP99GapMs: sqliteRun.p99ms - memoryRun.p99ms,
      allDeliveriesValid: memoryRun.valid && sqliteRun.valid ? 1 : 0,
    })
  } finally {
    await Promise.all([freshMemory.stop(), freshSqlite.stop()])
  }
}

/** Bytes the file holds once closed (its log emptied into it), per idle session and per kept 256-byte message. */
async function fileFigures(figures: Record<string, number>, dir: () => string): Promise<void> {
  process.stderr.write('sqlite bench: file size\n')
  const now = Date.now()
  const sizeWith = async (sessions: number, messages: number): Promise<number> => {
    const where = dir()
    const store = new SqliteStore({ maxSessions: sessions * 2, maxMessagesPerSession: 10_000, dataDir: where })
    for (let i = 0; i < sessions; i++) {
      const id = newSessionId()
      await store.create({ id, ttlSeconds: 3600, maxAgents: 50, creatorAgentId: 'host', creator: { agentId: 'host', keyHash: hashSessionKey(`${id}host`) } }, now)
      await store.join(id, { agentId: 'guest', keyHash: hashSessionKey(`${id}guest`) }, now)
      for (let m = 0; m < messages; m++) {
        await store.append(id, { id: newMessageId(), agentId: 'host', text: message256(m), verified: true, redactions: [], bytes: 256 }, undefined, now)
      }
    }
    await store.close()
    return statSync(join(where, 'nexus.db')).size
  }
  const empty = await sizeWith(0, 0)
  const idle = await sizeWith(10_000, 0)
  const kept = await sizeWith(1_000, 100)
  const base = await sizeWith(1_000, 0)
  figures.fileBytesPerIdleSession = (idle - empty) / 10_000
  figures.fileBytesPerKeptMessage256 = (kept - base) / 100_000
}

/** The longest the event loop waits while the sweep forgets SWEEP_SESSIONS sessions expired at once. */
async function sweepFigures(figures: Record<string, number>, where: string): Promise<void> {
  process.stderr.write(`sqlite bench: sweep of ${SWEEP_SESSIONS} expired sessions\n`)
  const t0 = Date.now()
  const store = new SqliteStore({ maxSessions: SWEEP_SESSIONS * 2, maxMessagesPerSession: 10_000, dataDir: where })
  try {
    for (let i = 0; i < SWEEP_SESSIONS; i++) {
      const id = newSessionId()
      await store.create({
        id,
        ttlSeconds: 60,
        maxAgents: 50,
        creatorAgentId: 'host',
        creator: { agentId: 'host', keyHash: hashSessionKey(`${id}host`) },
        greeting: { id: newMessageId(), agentId: 'system', text: 'hello', verified: true, redactions: [], bytes: 5 },
      }, t0)
    }
    const pagesBefore = store.pages()
    // On a shared machine the loop also waits for the CPU: the same tick loop, idle, for as long
    // as the sweep takes, says how long those waits are; the CPU time inside the widest gap says
    // what the sweep itself spent there.
    const idle = loopGaps()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const idleGaps = idle.stop()
    const during = loopGaps()
    const started = performance.now()
    const removed = await store.sweep(t0 + 61_000)
    const took = performance.now() - started
    const sweepGaps = during.stop()
    Object.assign(figures, {
      sweepSessions: removed,
      sweepLongestPauseMs: sweepGaps.longestMs,
      sweepLongestPauseCpuMs: sweepGaps.cpuOfLongestMs,
      sweepMostCpuInOnePauseMs: sweepGaps.mostCpuMs,
      idleLoopLongestGapMs: idleGaps.longestMs,
      sweepTotalMs: took,
      sweepPagesBefore: pagesBefore,
      sweepPagesAfter: store.pages(),
    })
  } finally {
    await store.close()
  }
}

/** Ticks the event loop with setImmediate until stopped: the widest gap between two ticks, and CPU spent in gaps. */
function loopGaps(): { stop(): { longestMs: number; cpuOfLongestMs: number; mostCpuMs: number } } {
  let longestMs = 0
  let cpuOfLongestMs = 0
  let mostCpuMs = 0
  let last = performance.now()
  let lastCpu = process.cpuUsage()
  let ticking = true
  const tick = () => {
    const at = performance.now()
    const cpu = process.cpuUsage(lastCpu)
    const cpuMs = (cpu.user + cpu.system) / 1000
    if (at - last > longestMs) {
      longestMs = at - last
      cpuOfLongestMs = cpuMs
    }
    mostCpuMs = Math.max(mostCpuMs, cpuMs)
    last = at
    lastCpu = process.cpuUsage()
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  return {
    stop() {
      ticking = false
      return { longestMs, cpuOfLongestMs, mostCpuMs }
    },
  }
}
