import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import type { Clock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/config.js'

/** The project root: scripts/nexus.sh runs from here, as agents run it from anywhere. */
export const root = fileURLToPath(new URL('../../', import.meta.url))
export const script = join(root, 'scripts/nexus.sh')

/** Where a command lives on this machine's PATH (tests run the script with a PATH of their own). */
export const which = (name: string): string => execFileSync('bash', ['-c', 'command -v "$1"', 'which', name], { encoding: 'utf8' }).trim()
const bash = which('bash')

export interface Server {
  app: FastifyInstance
  base: string
}

/** The real server, in-process, on 127.0.0.1 and a free port; closed when the test ends. */
export async function startServer(t: Test, env: Record<string, string> = {}, clock?: Clock): Promise<Server> {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', ...env }), { logger: false, ...(clock ? { clock } : {}) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** A clock the test moves by hand, for expiry without sleeping. */
export { fakeClock } from '../helpers.js'

/** A fresh HOME for one agent, removed when the test ends. */
export function makeHome(t: Test): string {
  const home = mkdtempSync(join(tmpdir(), 'nexus-cli-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  return home
}

export const stateDir = (home: string) => join(home, '.config', 'messaging')
export const sessionDir = (home: string, sid: string) => join(stateDir(home), 'sessions', sid)
export const readState = (home: string, ...parts: string[]) => readFileSync(join(stateDir(home), ...parts), 'utf8')
export const modeOf = (path: string) => statSync(path).mode & 0o777

export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as one JSON value (undefined when it is not). */
  json: any
  ms: number
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  input?: string | Buffer
  timeout?: number
}

/** A client: one HOME and one default server (NEXUS_URL); `run` executes `bash scripts/nexus.sh ARGS`. */
export interface Agent {
  home: string
  run(args: string[], options?: RunOptions): Promise<Result>
  spawn(args: string[], options?: RunOptions): ChildProcess
}

export function agent(t: Test, base: string | undefined, env: Record<string, string> = {}): Agent {
  const home = makeHome(t)
  const environment = (extra: Record<string, string | undefined> = {}) => {
    const merged: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env }
    if (base !== undefined) merged.NEXUS_URL = base
    for (const [key, value] of Object.entries(extra)) {
      if (value === undefined) delete merged[key]
      else merged[key] = value
    }
    return merged
  }
  return {
    home,
    run: (args, options = {}) => run(args, { ...options, env: environment(options.env) }),
    spawn: (args, options = {}) => spawn(bash, [script, ...args], { cwd: root, env: environment(options.env), stdio: ['ignore', 'pipe', 'pipe'] }),
  }
}

export function run(args: string[], options: RunOptions = {}): Promise<Result> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(bash, [script, ...args], {
      cwd: root,
      env: options.env as NodeJS.ProcessEnv,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      let json: unknown
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolve({ code, signal, stdout, stderr: Buffer.concat(err).toString('utf8'), json, ms: Date.now() - started })
    })
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

/** Every stdout line of a loop, parsed. */
export function jsonLines(stdout: string): any[] {
  return stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line))
}

/** A port on 127.0.0.1 where nothing listens. */
export async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface Recorded {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/**
 * A stand-in HTTP server (a proxy's error page, a rate limiter, a broken or older server): the
 * handler answers, every request is recorded.
 */
export async function fakeServer(
  t: Test,
  handler: (request: Recorded, response: ServerResponse) => void,
): Promise<{ base: string; requests: Recorded[] }> {
  const requests: Recorded[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const recorded = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(recorded)
      handler(recorded, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Waits until `check` holds (polling every 25 ms), failing after `ms`. */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition')
    await sleep(25)
  }
}

/** A's session with a creator, a greeting and B joined through a pairing code: the usual start. */
export async function pairedSession(t: Test, base: string, greeting = 'Hi, Alice here.') {
  const alice = agent(t, base)
  const bob = agent(t, base)
  const created = await alice.run(['create', '--creator-agent-id', 'alice', '--greeting', greeting])
  const sid: string = created.json.sessionId
  const paired = await alice.run(['pair', sid])
  const claimed = await bob.run(['claim', paired.json.code, '--agent-id', 'bob'])
  if (created.code !== 0 || paired.code !== 0 || claimed.code !== 0) {
    throw new Error(`pairing failed: ${created.stdout} ${paired.stdout} ${claimed.stdout} ${claimed.stderr}`)
  }
  return { alice, bob, sid, code: paired.json.code as string }
}

/** The server's own view of a session's messages, bypassing the client. */
export async function poll(app: FastifyInstance, sid: string, agentId: string, query = ''): Promise<any[]> {
  const response = await app.inject({ method: 'GET', url: `/v1/sessions/${sid}/messages${query ? `?${query}` : ''}`, headers: { 'x-agent-id': agentId } })
  return JSON.parse(response.body).messages
}
