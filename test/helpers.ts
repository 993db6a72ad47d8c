import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type BuildOptions } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/** A clock the test moves by hand. */
export function fakeClock(start = Date.now()) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

/**
 * The real app on the given environment, closed when the test ends. Rate limiting is out of the
 * way unless asked for, and the store is memory unless `env.STORE` says otherwise: the default
 * (a SQLite file under DATA_DIR) would write into the repository, and tests of it ask for it.
 */
export async function build(t: Test, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', ...env }), { logger: false, checkReplies: true, ...options })
  t.teardown(() => app.close())
  return app
}

export interface Reply {
  status: number
  headers: Record<string, unknown>
  body: any
  text: string
}

export async function call(app: FastifyInstance, options: InjectOptions): Promise<Reply> {
  const response = await app.inject(options)
  let body: unknown
  try {
    body = JSON.parse(response.body)
  } catch {
    body = undefined
  }
  return { status: response.statusCode, headers: response.headers, body, text: response.body }
}

/** A session with a creator ('host'), and a second member ('guest') joined. */
export async function twoAgents(app: FastifyInstance, create: Record<string, unknown> = {}) {
  const created = await call(app, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host', ...create } })
  const sessionId: string = created.body.sessionId
  const hostKey: string = created.body.sessionKey
  const joined = await call(app, { method: 'POST', url: `/v1/sessions/${sessionId}/join`, headers: { 'x-agent-id': 'guest' } })
  return { sessionId, hostKey, guestKey: joined.body.sessionKey as string, created, joined }
}

export function send(app: FastifyInstance, sessionId: string, agentId: string, payload: unknown, key?: string) {
  return call(app, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/messages`,
    headers: { 'x-agent-id': agentId, ...(key ? { 'x-session-key': key } : {}) },
    payload: payload as InjectOptions['payload'],
  })
}

export function poll(app: FastifyInstance, sessionId: string, agentId: string, query = '') {
  return call(app, {
    method: 'GET',
    url: `/v1/sessions/${sessionId}/messages${query ? `?${query}` : ''}`,
    headers: { 'x-agent-id': agentId },
  })
}
