import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { availableParallelism } from 'node:os'

/** Starting, pinning and measuring the server processes a benchmark loads. */

export interface Server {
  name: string
  base: string
  child: ChildProcess
  stop(): Promise<void>
  /** Resident memory of the process, in bytes, as the kernel counts it. */
  rss(): number
  /** CPU time the process has used so far (user + system), in seconds; NaN where /proc is missing. */
  cpuSeconds(): number
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
    return availableParallelism() >= 2
  } catch {
    return false
  }
}

export const pinning = hasTaskset()

/** Pins this (load-generating) process to the last core, away from the servers on core 0. */
export function pinSelf(): string {
  if (!pinning) return 'not pinned (taskset or a second core missing)'
  const core = availableParallelism() - 1
  execFileSync('taskset', ['-pc', String(core), String(process.pid)], { stdio: 'ignore' })
  return `servers on core 0, load generator on core ${core}`
}

/**
 * V8 flags for a server confined to one core. V8 runs scavenges in parallel and marks and
 * compiles concurrently on helper threads; pinned to the same core as the main thread, those
 * threads can only preempt it, and every pause grows by however long the scheduler lets them
 * run. Single-threaded GC keeps each collection in one stretch on the main thread
 * (bench/README.md has the figures). Every pinned server gets the same flags, so the
 * comparisons stay like for like.
 */
const ONE_CORE_FLAGS = ['--single-threaded-gc']

/** Clock ticks per second, the unit of the CPU times in /proc/<pid>/stat. */
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** User + system CPU seconds of a process so far, from /proc/<pid>/stat. */
function cpuSecondsOf(pid: number): number {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return Number.NaN
  }
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Spawns `node args…` on a free port (pinned to core 0 when possible) and waits until it answers. */
export async function startServer(name: string, args: string[], env: Record<string, string>, readyPath: string): Promise<Server> {
  const port = await freePort()
  const command = pinning ? 'taskset' : process.execPath
  const argv = pinning ? ['-c', '0', process.execPath, ...ONE_CORE_FLAGS, ...args] : args
  // taskset execs node in place, so the child's pid is the server's.
  const child = spawn(command, argv, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    try {
      if ((await fetch(base + readyPath)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const pid = child.pid!
  return {
    name,
    base,
    child,
    rss: () => {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      return kb ? Number(kb[1]) * 1024 : Number.NaN
    },
    cpuSeconds: () => cpuSecondsOf(pid),
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}

/** Nexus from dist/, on the memory store unless `env` names another (the figures of record are memory's). */
export function startNexus(env: Record<string, string> = {}): Promise<Server> {
  return startServer('nexus', ['dist/server.js'], {
    STORE: 'memory',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    MAX_SESSIONS: '300000',
    MAX_WAITERS: '50000',
    MAX_WAITERS_PER_IP: '50000',
    ...env,
  }, '/health')
}

export function startBare(env: Record<string, string> = {}): Promise<Server> {
  return startServer('bare fastify', ['--import', 'tsx', 'bench/bare-server.ts'], env, '/bare')
}

/** The stack floor (bench/stack-floor.ts): the stack's per-request cost with no Nexus code behind it. */
export function startStackFloor(env: Record<string, string> = {}): Promise<Server> {
  return startServer('stack floor', ['--import', 'tsx', 'bench/stack-floor.ts'], env, '/floor')
}
