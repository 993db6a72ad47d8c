import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { RedisStore } from '../../src/store/redis.js'
import { call, poll, send } from '../helpers.js'

/** Helpers for running several Nexus instances on one Redis in a test. */

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A prefix of its own for a test, whose keys are removed when the test ends. */
export function testPrefix(t: Test, url = redisUrl): string {
  const prefix = `nexus-test:${randomBytes(6).toString('hex')}:`
  t.teardown(() => removeKeys(url, prefix))
  return prefix
}

export async function removeKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

export interface Instance {
  app: FastifyInstance
  store: RedisStore
}

/**
 * One Nexus instance with its own RedisStore (its own connections), as a separate process would
 * have. `commandTimeoutMs` as the store takes it: tests that are not about timeouts raise it,
 * since a test process firing hundreds of in-process requests at once can hold its own event
 * loop past the 500 ms default, and a reply already in the socket then times out unread.
 */
export async function instance(t: Test, prefix: string, env: Record<string, string> = {}, url = redisUrl, commandTimeoutMs?: number): Promise<Instance> {
  const config = loadConfig({ RATE_LIMIT_MAX: '1000000', ...env })
  const store = new RedisStore({
    maxSessions: config.limits.maxSessions,
    maxMessagesPerSession: config.limits.maxMessagesPerSession,
    url,
    prefix,
    ...(commandTimeoutMs !== undefined ? { commandTimeoutMs } : {}),
  })
  const app = await buildApp(config, { store, logger: false })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  return { app, store }
}

/**
 * The core cross-instance story, shared by the single-Redis and the Cluster tests: a session
 * created on A, joined and written to on B, read back on A. Returns what later steps need.
 */
export async function createOnAWriteOnB(t: Test, a: FastifyInstance, b: FastifyInstance): Promise<{ id: string; guestKey: string }> {
  const created = await call(a, { method: 'PUT', url: '/v1/sessions', payload: { creatorAgentId: 'host', greeting: 'hello' } })
  t.equal(created.status, 201)
  const id: string = created.body.sessionId
  const joined = await call(b, { method: 'POST', url: `/v1/sessions/${id}/join`, headers: { 'x-agent-id': 'guest' } })
  t.equal(joined.status, 200)
  const sent = await send(b, id, 'guest', { text: 'from b' }, joined.body.sessionKey)
  t.equal(sent.status, 201)
  t.equal(sent.body.cursor, '1')
  t.equal(sent.body.verified, true)
  const page = await poll(a, id, 'host')
  t.same(page.body.messages.map((m: { text: string }) => m.text), ['hello', 'from b'])
  return { id, guestKey: joined.body.sessionKey }
}
