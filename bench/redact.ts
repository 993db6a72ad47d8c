// Redaction throughput and accuracy.
//
//   node --import tsx bench/redact.ts
//
// Throughput is measured the way the send path uses the redactor: one call per message.
// "ordinary" is a few MB of varied chat between agents (prose, code, JSON, logs) with no
// secrets; "dense" has a generated secret every ~200 bytes. Accuracy is measured over the test
// corpus: every fake of every type in every context, and every benign look-alike.

import { pathToFileURL } from 'node:url'
import { builtinTypes, createRedactor, type Redactor } from '../src/core/redact/index.js'
import { CONTEXTS, embed, makeFakes } from '../test/core/redact/fakes.js'
import { makeHostileInputs } from '../test/core/redact/hostile-inputs.js'
import { makeLookAlikes } from '../test/core/redact/look-alikes.js'

// A type alias, not an interface: aliases are assignable to Record<string, number>.
export type RedactionBenchResult = {
  types: number
  ordinaryMBps: number
  /** The same ordinary text, redacted as one large message (long documents pasted at once). */
  ordinaryLargeMBps: number
  denseMBps: number
  ordinaryBytes: number
  denseBytes: number
  /** Slowest hostile 1 MB input, in ms. */
  hostileWorstMs: number
  caught: number
  total: number
  /** Caught and named with the expected type. */
  labelled: number
  benignTouched: number
  benignTotal: number
}

/** Small deterministic PRNG so every run measures the same text. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ('session member cursor poll message agent server store redis memory expiry pairing ' +
  'code key token limit request response error timeout retry queue worker plan review test build ' +
  'deploy branch commit merge config schema route handler client socket stream event latency ' +
  'throughput password field value secret rotation header body payload summary draft patch').split(' ')
const NAMES = ['planner', 'coder', 'reviewer', 'tester', 'scout', 'writer', 'critic']
const FILES = ['src/app.ts', 'src/core/sessions.ts', 'src/store/redis.ts', 'test/poll.test.ts', 'README.md', 'package.json']

export function chatCorpus(bytes: number, seed = 1): string[] {
  const r = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('')
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ')
  const templates: Array<() => string> = [
    () => `I looked at ${pick(FILES)}: the ${words(3)} path retries ${Math.floor(r() * 9) + 1} times before giving up. Should we ${words(4)} instead?`,
    () => `Agreed with @${pick(NAMES)}. The ${words(2)} is fine, but the ${words(3)} needs a test. I forgot my password yesterday, unrelated.`,
    () => '```ts\nexport async function poll(sessionId: string, after?: string): Promise<Message[]> {\n' +
      `  const res = await fetch(\`\${base}/v1/sessions/\${sessionId}/messages?after=\${after ?? ''}\`, { headers: { 'X-Agent-Id': '${pick(NAMES)}' } })\n` +
      "  if (!res.ok) throw new Error(`poll failed: ${res.status}`)\n  return (await res.json()).messages\n}\n```",
    () => JSON.stringify({ id: `msg_${hex(21)}`, cursor: String(Math.floor(r() * 1e6)), agentId: pick(NAMES), verified: r() > 0.5, createdAt: '2025-05-01T12:00:00Z', redactions: [] }),
    () => `commit ${hex(40)} (${pick(NAMES)}): ${words(5)}\n  ${pick(FILES)} | ${Math.floor(r() * 90)} ++++----`,
    () => `Error: connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrapper.afterConnect (node:net:1555:16)\n    at ${words(1)}Handler (${pick(FILES)}:${Math.floor(r() * 300)}:${Math.floor(r() * 40)})`,
    () => `config:\n  port: 8765\n  host: 127.0.0.1\n  maxAgents: ${Math.floor(r() * 50) + 2}\n  ttl: 3660\n  redisUrl: redis://cache:6379/0\n  apiKey: \${API_KEY}`,
    () => `Session ${hex(48)} expires at 2025-05-01T13:01:00Z; pairing code AMBER-OTTER-${hex(5).toUpperCase()} is single use. Cursor is now ${Math.floor(r() * 1e5)}.`,
    () => `| step | owner | status |\n|---|---|---|\n| ${words(2)} | ${pick(NAMES)} | done |\n| ${words(2)} | ${pick(NAMES)} | in progress |`,
    () => `- [ ] ${words(6)}\n- [x] ${words(5)}\n- [ ] the password field is required on the ${words(1)} form`,
    () => `Benchmarks: p50 ${(r() * 10).toFixed(2)} ms, p99 ${(r() * 80).toFixed(2)} ms at ${Math.floor(r() * 5000)} req/s; the ${words(2)} is the bottleneck, not the token bucket.`,
    () => `docker run -p 8765:8765 -e REDIS_URL=redis://cache:6379 nexus:${Math.floor(r() * 9)}.${Math.floor(r() * 20)}.${Math.floor(r() * 20)} && curl -s http://127.0.0.1:8765/health | jq .`,
  ]
  const messages: string[] = []
  let size = 0
  while (size < bytes) {
    const parts: string[] = []
    const n = 1 + Math.floor(r() * 4)
    for (let i = 0; i < n; i++) parts.push(pick(templates)())
    const message = parts.join('\n\n')
    messages.push(message)
    size += Buffer.byteLength(message)
  }
  return messages
}

/** Chat with a fake secret spliced in every ~200 bytes. */
function denseCorpus(bytes: number): string[] {
  const chat = chatCorpus(bytes, 2).join('\n')
  const fakes = makeFakes()
  const messages: string[] = []
  let size = 0
  let at = 0
  let k = 0
  let message = ''
  while (size < bytes && at < chat.length) {
    const piece = chat.slice(at, at + 150)
    at += 150
    const fake = fakes[k++ % fakes.length] as (typeof fakes)[number]
    message += piece + ' ' + fake.snippet + ' '
    if (message.length > 4000) {
      messages.push(message)
      size += Buffer.byteLength(message)
      message = ''
    }
  }
  if (message !== '') messages.push(message)
  return messages
}

function mbps(redactor: Redactor, messages: readonly string[], rounds = 5): number {
  const bytes = messages.reduce((n, m) => n + Buffer.byteLength(m), 0)
  for (const m of messages.slice(0, 2000)) redactor.redactText(m) // warm up the JIT
  let best = Infinity
  for (let i = 0; i < rounds; i++) {
    const start = performance.now()
    for (const m of messages) redactor.redactText(m)
    best = Math.min(best, performance.now() - start)
  }
  return bytes / 1e6 / (best / 1000)
}

/** Every figure is a number, so callers can treat the result as a Record<string, number>. */
export async function runRedactionBench(): Promise<RedactionBenchResult> {
  return (await measure()).result
}

async function measure(): Promise<{ result: RedactionBenchResult; hostileWorstName: string }> {
  const redactor = createRedactor()
  const ordinary = chatCorpus(4e6)
  const dense = denseCorpus(2e6)

  let caught = 0
  let total = 0
  let labelled = 0
  for (let round = 0; round < 3; round++) {
    for (const fake of makeFakes()) {
      for (const context of CONTEXTS) {
        const e = embed(fake, context)
        if (e === null) continue
        total++
        const out = redactor.redactText(e.text)
        if (!out.text.includes(e.secretForm) && out.redactions.length > 0) {
          caught++
          if (out.text === e.text.split(e.secretForm).join(`[REDACTED:${fake.type}]`)) labelled++
        }
      }
    }
  }
  let benignTouched = 0
  let benignTotal = 0
  for (let round = 0; round < 3; round++) {
    for (const text of makeLookAlikes()) {
      benignTotal++
      const out = redactor.redactText(text)
      if (out.text !== text || out.redactions.length > 0) benignTouched++
    }
  }
  for (const m of ordinary) if (redactor.redactText(m).redactions.length > 0) benignTouched++

  let hostileWorstMs = 0
  let hostileWorstName = ''
  for (const { name, text } of makeHostileInputs()) {
    redactor.redactText(text)
    const start = performance.now()
    redactor.redactText(text)
    const ms = performance.now() - start
    if (ms > hostileWorstMs) {
      hostileWorstMs = ms
      hostileWorstName = name
    }
  }

  const result: RedactionBenchResult = {
    types: builtinTypes().length,
    ordinaryMBps: mbps(redactor, ordinary),
    ordinaryLargeMBps: mbps(redactor, [ordinary.join('\n\n')], 5),
    denseMBps: mbps(redactor, dense),
    ordinaryBytes: ordinary.reduce((n, m) => n + Buffer.byteLength(m), 0),
    denseBytes: dense.reduce((n, m) => n + Buffer.byteLength(m), 0),
    hostileWorstMs,
    caught,
    total,
    labelled,
    benignTouched,
    benignTotal: benignTotal + ordinary.length,
  }
  return { result, hostileWorstName }
}

function printTable({ result: r, hostileWorstName }: { result: RedactionBenchResult; hostileWorstName: string }): void {
  const rows: Array<[string, string]> = [
    ['detector types', String(r.types)],
    ['ordinary chat, per message', `${r.ordinaryMBps.toFixed(1)} MB/s (${(r.ordinaryBytes / 1e6).toFixed(1)} MB)`],
    ['ordinary chat, one large text', `${r.ordinaryLargeMBps.toFixed(1)} MB/s`],
    ['secret every ~200 bytes', `${r.denseMBps.toFixed(1)} MB/s (${(r.denseBytes / 1e6).toFixed(1)} MB)`],
    ['worst hostile 1 MB input', `${r.hostileWorstMs.toFixed(1)} ms (${hostileWorstName})`],
    ['secrets caught', `${r.caught} / ${r.total} (${r.labelled} with the expected type)`],
    ['benign strings touched', `${r.benignTouched} / ${r.benignTotal}`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  measure().then(printTable, (err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
