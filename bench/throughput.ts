import autocannon from 'autocannon'
import type { BenchSession } from './fixtures.js'
import { message256 } from './fixtures.js'

/**
 * Throughput with autocannon. Every scenario uses a precomputed list of requests (one per
 * session), cycled by each connection, so the load generator does the same little work per
 * request for Nexus as for the bare ceiling: the ratio compares servers, not request builders.
 */
async function load(url: string, requests: autocannon.Request[]): Promise<{ rps: number; errors: number; non2xx: number; p99ms: number }> {
  const result = await autocannon({ url, connections: 50, duration: 5, requests })
  return { rps: result.requests.average, errors: result.errors, non2xx: result.non2xx, p99ms: result.latency.p99 }
}

const sendBody = (i: number) => JSON.stringify({ text: message256(i) })

export function bareEcho(base: string) {
  return load(base, Array.from({ length: 100 }, (_, i) => ({
    method: 'POST' as const,
    path: '/echo',
    headers: { 'content-type': 'application/json', 'x-agent-id': 'host', 'x-session-key': 'k'.repeat(64) },
    body: sendBody(i),
  })))
}

export function bareGet(base: string) {
  return load(base, Array.from({ length: 100 }, () => ({ method: 'GET' as const, path: '/bare', headers: { 'x-agent-id': 'guest' } })))
}

/** Acknowledged 256-byte sends, spread across the sessions. */
export function sends(base: string, sessions: BenchSession[]) {
  return load(base, sessions.map((session, i) => ({
    method: 'POST' as const,
    path: `/v1/sessions/${session.id}/messages`,
    headers: { 'content-type': 'application/json', 'x-agent-id': 'host', 'x-session-key': session.hostKey },
    body: sendBody(i),
  })))
}

/** Polls after a cursor, across the sessions: `after` picks a full page of 100 or the empty tail. */
export function polls(base: string, sessions: BenchSession[], after: (session: BenchSession) => number) {
  return load(base, sessions.map((session) => ({
    method: 'GET' as const,
    path: `/v1/sessions/${session.id}/messages?after=${after(session)}&limit=100`,
    headers: { 'x-agent-id': 'guest' },
  })))
}
