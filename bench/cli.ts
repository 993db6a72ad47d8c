import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/**
 * What the bash client costs over the HTTP round trip it makes: the wall time of `nexus.sh send`
 * and `nexus.sh poll`, run one after another as an agent's tool calls are, against plain `curl`
 * making the same request. The two are interleaved call by call, so a busy machine slows both
 * alike. The server runs in this process with rate limiting out of the way.
 */

const root = fileURLToPath(new URL('../', import.meta.url))
const script = join(root, 'scripts/nexus.sh')

export interface Pair {
  calls: number
  cliMs: number
  curlMs: number
  /** Milliseconds per call. */
  cliPerCall: number
  curlPerCall: number
  /** cliMs / curlMs: the aim is under 2. */
  ratio: number
}

export interface CliBenchResult {
  send: Pair
  poll: Pair
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env, cwd: root }, (err, stdout, stderr) => (err ? reject(new Error(`${file} ${args[0]}: ${err.message} ${stderr}`)) : resolve(stdout))))
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await run()
  return performance.now() - started
}

function pair(calls: number, cli: number[], curl: number[]): Pair {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
  const cliMs = sum(cli)
  const curlMs = sum(curl)
  return { calls, cliMs: Math.round(cliMs), curlMs: Math.round(curlMs), cliPerCall: +(cliMs / calls).toFixed(2), curlPerCall: +(curlMs / calls).toFixed(2), ratio: +(cliMs / curlMs).toFixed(2) }
}

export async function runCliBench(calls = 200): Promise<CliBenchResult> {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'silent' }), { logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const home = mkdtempSync(join(tmpdir(), 'nexus-bench-'))
  const env = { PATH: process.env.PATH, HOME: home, NEXUS_URL: base }
  try {
    const created = JSON.parse(await exec('bash', [script, 'create', '--creator-agent-id', 'host', '--ttl', '3600'], env))
    const sid: string = created.sessionId
    const key = readFileSync(join(home, '.config/messaging/sessions', sid, 'key'), 'utf8').trim()
    const messages = `${base}/v1/sessions/${sid}/messages`
    const curlSend = (text: string) =>
      exec('curl', ['-sS', '--max-time', '10', '-X', 'POST', '-H', 'X-Agent-Id: host', '-H', `X-Session-Key: ${key}`,
        '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ text }), messages], env)
    const cliSend = (text: string) => exec('bash', [script, 'send', sid, text], env)

    // Warm up both (the script's first run also checks its dependencies once).
    for (let i = 0; i < 10; i++) {
      await cliSend(`warm ${i}`)
      await curlSend(`warm ${i}`)
    }

    const send: { cli: number[]; curl: number[] } = { cli: [], curl: [] }
    for (let i = 0; i < calls; i++) {
      const text = `message ${i}: the build passed on the second try; I will push the fix and ask for review.`
      send.curl.push(await timed(() => curlSend(text)))
      send.cli.push(await timed(() => cliSend(text)))
    }

    // Poll: the script reads from its saved cursor (caught up first), curl sends the same `after`.
    const caughtUp = JSON.parse(await exec('bash', [script, 'poll', sid], env))
    const after: string = caughtUp.nextCursor
    const curlPoll = () => exec('curl', ['-sS', '--max-time', '10', '-H', 'X-Agent-Id: host', `${messages}?after=${after}`], env)
    const cliPoll = () => exec('bash', [script, 'poll', sid], env)
    const poll: { cli: number[]; curl: number[] } = { cli: [], curl: [] }
    for (let i = 0; i < calls; i++) {
      poll.curl.push(await timed(curlPoll))
      poll.cli.push(await timed(cliPoll))
    }
    return { send: pair(calls, send.cli, send.curl), poll: pair(calls, poll.cli, poll.curl) }
  } finally {
    rmSync(home, { recursive: true, force: true })
    await app.close()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runCliBench()
  for (const [name, figures] of Object.entries(result)) {
    console.log(`${name.padEnd(5)} nexus.sh ${figures.cliPerCall.toFixed(2)} ms/call   curl ${figures.curlPerCall.toFixed(2)} ms/call   ratio ${figures.ratio.toFixed(2)}x (${figures.calls} calls each)`)
  }
  console.log(JSON.stringify(result))
}
