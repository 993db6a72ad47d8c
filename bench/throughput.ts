import autocannon from 'autocannon'
import type { BenchSession } from './fixtures.js'
import { message256 } from './fixtures.js'
import type { Server } from './processes.js'

/**
 * Throughput with autocannon. Every scenario uses a precomputed list of requests (one per
 * session), cycled by each connection, so the load generator does the same little work per
 * request for Nexus as for the bare ceiling: the ratio compares servers, not request builders.
 */
export interface Load {
  rps: number
  /** Requests answered in the run. */
  total: number
  errors: number
  non2xx: number
  p99ms: number
  /**
   * Server CPU time per answered request, in microseconds. Steadier than requests per second:
   * it does not move when the load generator, not the server, is what runs short.
   */
  cpuMicros: number
}

/** The server a scenario loads: where it answers, and the CPU it has used. */
export type Target = Pick<Server, 'base' | 'cpuSeconds'>

/** Seconds each side of a round is loaded; a short first pass warms both JITs up. */
const ROUND_SECONDS = 3
const WARMUP_SECONDS = 1

async function load(target: Target, requests: autocannon.Request[], duration = ROUND_SECONDS): Promise<Load> {
  const cpuBefore = target.cpuSeconds()
  const result = await autocannon({ url: target.base, connections: 50, duration, requests })
  const total = result.requests.total
  return {
    rps: result.requests.average,
    total,
    errors: result.errors,
    non2xx: result.non2xx,
    p99ms: result.latency.p99,
    cpuMicros: ((target.cpuSeconds() - cpuBefore) * 1e6) / total,
  }
}

type Scenario = (duration?: number) => Promise<Load>

export interface Paired {
  /** The median of the rounds' ratios: what the table shows. */
  ratio: number
  /** Each round's measured / bare, in order, to show the spread. */
  ratios: number[]
  /** The median of the rounds' bare / measured server CPU per request: the same ratio by cost. */
  cpuRatio: number
  /** The loads of the server measured: Nexus or the stack floor. */
  measured: Load[]
  bare: Load[]
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * The bare ceiling and each contender (Nexus, the stack floor) loaded in turn, round after
 * round, each round's ratios taken from runs seconds apart. On a shared machine the speed of the
 * whole box drifts over tens of seconds; alternating and taking the median keeps that drift out
 * of the ratios. One result per contender, in the order given.
 */
export async function compared<T extends Scenario[]>(rounds: number, bare: Scenario, contenders: [...T]): Promise<{ [K in keyof T]: Paired }> {
  await bare(WARMUP_SECONDS)
  for (const contender of contenders) await contender(WARMUP_SECONDS)
  const ceilings: Load[] = []
  const measured = contenders.map((): Load[] => [])
  for (let i = 0; i < rounds; i++) {
    ceilings.push(await bare())
    for (const [index, contender] of contenders.entries()) measured[index]!.push(await contender())
  }
  return measured.map((loads): Paired => {
    const ratios = loads.map((load, round) => load.rps / ceilings[round]!.rps)
    const cpuRatios = loads.map((load, round) => ceilings[round]!.cpuMicros / load.cpuMicros)
    return { ratio: median(ratios), ratios, cpuRatio: median(cpuRatios), measured: loads, bare: ceilings }
  }) as { [K in keyof T]: Paired }
}

/** Nexus against the bare ceiling alone. */
export async function paired(rounds: number, bare: Scenario, nexus: Scenario): Promise<Paired> {
  const [result] = await compared(rounds, bare, [nexus])
  return result
}

export const medianRps = (loads: Load[]) => median(loads.map((l) => l.rps))
export const medianCpuMicros = (loads: Load[]) => median(loads.map((l) => l.cpuMicros))
export const non2xx = (loads: Load[]) => loads.reduce((sum, l) => sum + l.non2xx + l.errors, 0)

const sendBody = (i: number) => JSON.stringify({ text: message256(i) })

export function bareEcho(bare: Target, duration?: number) {
  return load(bare, Array.from({ length: 100 }, (_, i) => ({
    method: 'POST' as const,
    path: '/echo',
    headers: { 'content-type': 'application/json', 'x-agent-id': 'host', 'x-session-key': 'k'.repeat(64) },
    body: sendBody(i),
  })), duration)
}

export function bareGet(bare: Target, duration?: number) {
  return load(bare, Array.from({ length: 100 }, () => ({ method: 'GET' as const, path: '/bare', headers: { 'x-agent-id': 'guest' } })), duration)
}

/** One 256-byte send per session, as the host: the list autocannon cycles. */
export function sendRequests(sessions: BenchSession[]): autocannon.Request[] {
  return sessions.map((session, i) => ({
    method: 'POST' as const,
    path: `/v1/sessions/${session.id}/messages`,
    headers: { 'content-type': 'application/json', 'x-agent-id': 'host', 'x-session-key': session.hostKey },
    body: sendBody(i),
  }))
}

/** Acknowledged 256-byte sends, spread across the sessions. */
export function sends(server: Target, sessions: BenchSession[], duration?: number) {
  return load(server, sendRequests(sessions), duration)
}

/** Polls after a cursor, across the sessions: `after` picks a full page of 100 or the empty tail. */
export function polls(server: Target, sessions: BenchSession[], after: (session: BenchSession) => number, duration?: number) {
  return load(server, sessions.map((session) => ({
    method: 'GET' as const,
    path: `/v1/sessions/${session.id}/messages?after=${after(session)}&limit=100`,
    headers: { 'x-agent-id': 'guest' },
  })), duration)
}
