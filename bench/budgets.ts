// The hostile cases of the byte budgets (references/api.md, "Budgets"), measured in one process:
// the largest poll reply and how long it blocks, and the heap a flood of tiny JSON nodes holds.
// Run: node --expose-gc --import tsx bench/budgets.ts
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '100000000', LOG_LEVEL: 'silent' }), { logger: false })
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

async function session(): Promise<string> {
  const created = await app.inject({ method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host' } })
  return (JSON.parse(created.body) as { sessionId: string }).sessionId
}
async function send(id: string, payload: string): Promise<number> {
  const r = await app.inject({ method: 'POST', url: `/v1/sessions/${id}/messages`, headers: { 'x-agent-id': 'host', 'content-type': 'application/json' }, payload })
  return r.statusCode
}
async function timedPoll(id: string): Promise<{ status: number; bytes: number; ms: number }> {
  const start = process.hrtime.bigint()
  const r = await app.inject({ method: 'GET', url: `/v1/sessions/${id}/messages`, headers: { 'x-agent-id': 'host' } })
  return { status: r.statusCode, bytes: r.rawPayload.length, ms: Number(process.hrtime.bigint() - start) / 1e6 }
}
const mb = (n: number) => (n / 1024 / 1024).toFixed(1) + ' MB'

// 1. Control characters: each escapes to six bytes on the wire.
{
  const id = await session()
  const body = JSON.stringify({ text: '\u0001'.repeat(65536) })
  const statuses = new Map<number, number>()
  for (let i = 0; i < 1000; i++) { const s = await send(id, body); statuses.set(s, (statuses.get(s) ?? 0) + 1) }
  const p = await timedPoll(id)
  console.log(`control characters: sends ${JSON.stringify([...statuses])}; poll ${p.status}, ${p.bytes} bytes (${mb(p.bytes)}) in ${p.ms.toFixed(0)} ms`)
}
// 1b. The largest text that is accepted, 1000 times.
{
  const id = await session()
  const statuses = new Map<number, number>()
  for (let i = 0; i < 1000; i++) { const s = await send(id, JSON.stringify({ text: 'x'.repeat(65530) })); statuses.set(s, (statuses.get(s) ?? 0) + 1) }
  const p = await timedPoll(id)
  console.log(`largest plain texts: sends ${JSON.stringify([...statuses])}; poll ${p.status}, ${p.bytes} bytes (${mb(p.bytes)}) in ${p.ms.toFixed(0)} ms`)
}
// 2. Deep JSON: 100 messages nested 1,000 deep.
{
  const id = await session()
  const deep = '{"json":' + '['.repeat(1000) + ']'.repeat(1000) + '}'
  const statuses = new Map<number, number>()
  for (let i = 0; i < 100; i++) { const s = await send(id, deep); statuses.set(s, (statuses.get(s) ?? 0) + 1) }
  const p = await timedPoll(id)
  console.log(`deep json: sends ${JSON.stringify([...statuses])}; poll ${p.status}, ${p.bytes} bytes in ${p.ms.toFixed(0)} ms`)
  const deeper = '{"json":' + '['.repeat(3000) + ']'.repeat(3000) + '}'
  console.log(`3,000 deep: send ${await send(id, deeper)}, then poll ${(await timedPoll(id)).status}`)
}
// 2b. JSON at the depth limit: 100 messages nested 32 deep.
{
  const id = await session()
  const deep = '{"json":' + '['.repeat(32) + ']'.repeat(32) + '}'
  for (let i = 0; i < 100; i++) await send(id, deep)
  const p = await timedPoll(id)
  console.log(`json 32 deep: poll ${p.status}, ${p.bytes} bytes in ${p.ms.toFixed(0)} ms`)
}
// 3. JSON of empty arrays as large as a message may be (16,000 arrays, 48 KB, before the bounds;
// the most values allowed after them), 50 sends on each of 40 sessions.
{
  gc()
  const before = process.memoryUsage().heapUsed
  const sessions = await Promise.all(Array.from({ length: 40 }, () => session()))
  const statuses = new Map<number, number>()
  const many = '{"json":[' + Array(16000).fill('[]').join(',') + ']}'
  const most = '{"json":[' + Array(9999).fill('[]').join(',') + ']}'
  const first = await send(sessions[0]!, many)
  const arrays = first === 201 ? many : most
  for (const id of sessions) {
    for (let i = 0; i < 50; i++) { const s = await send(id, arrays); statuses.set(s, (statuses.get(s) ?? 0) + 1) }
  }
  gc()
  const after = process.memoryUsage().heapUsed
  console.log(`empty arrays (${arrays.length} B body; 16,000 arrays: ${first}): sends ${JSON.stringify([...statuses])}; heap ${mb(before)} -> ${mb(after)}`)
}
await app.close()
