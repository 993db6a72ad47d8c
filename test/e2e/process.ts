import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

export interface Running {
  base: string
  child: ChildProcess
  output: () => string
}

/** A directory for one test's store, removed when the test ends. */
export function dataDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-e2e-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Spawns the real server process (`src/server.ts`) with this environment added. */
export function spawnServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/**
 * Starts the real server process on a free port and waits for its "listening" log line. Its store
 * is a SQLite file in a fresh directory unless `env` says where (DATA_DIR) or which (STORE).
 */
export async function startServer(t: Test, env: Record<string, string> = {}): Promise<Running> {
  const child = spawnServer({ DATA_DIR: env.DATA_DIR ?? dataDir(t), ...env })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let output = ''
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', () => {
      clearTimeout(timer)
      reject(new Error(`server exited: ${output}`))
    })
  })
  return { base, child, output: () => output }
}

/** Runs the server until it exits by itself (a refused start); its exit code and stderr. */
export async function failedStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawnServer(env)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return { code: code as number | null, stderr }
}

export async function http(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return { status: response.status, headers: response.headers, body: (await response.json()) as any }
}
