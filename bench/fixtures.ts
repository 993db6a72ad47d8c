import { request } from 'undici'

/** Sessions with two members each, made over HTTP like any client would. */
export interface BenchSession {
  id: string
  hostKey: string
}

async function json(method: 'PUT' | 'POST' | 'GET', url: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.body.text()
  if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`)
  return JSON.parse(text)
}

export async function makeSessions(base: string, count: number): Promise<BenchSession[]> {
  const sessions: BenchSession[] = []
  for (let i = 0; i < count; i++) {
    const created = await json('PUT', `${base}/v1/sessions`, {}, { creatorAgentId: 'host', ttl: 3600 })
    await json('POST', `${base}/v1/sessions/${created.sessionId}/join`, { 'x-agent-id': 'guest' })
    sessions.push({ id: created.sessionId, hostKey: created.sessionKey })
  }
  return sessions
}

export async function sendText(base: string, session: BenchSession, text: string): Promise<{ cursor: string }> {
  return json('POST', `${base}/v1/sessions/${session.id}/messages`, { 'x-agent-id': 'host', 'x-session-key': session.hostKey }, { text })
}

/** A 256-byte chat message: ordinary prose, so the redactor does its usual work. */
export function message256(n: number): string {
  const base = `message ${n}: the build passed on the second try, the flaky test was a timing issue in the retry loop; I will push the fix and ask for review. `
  return (base + 'x'.repeat(256)).slice(0, 256)
}
