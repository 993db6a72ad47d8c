import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { RedisStore } from '../../src/store/redis.js'

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

/** One Nexus instance with its own RedisStore (its own connections), as a separate process would have. */
export async function instance(t: Test, prefix: string, env: Record<string, string> = {}, url = redisUrl): Promise<Instance> {
  const config = loadConfig({ RATE_LIMIT_MAX: '1000000', ...env })
  const store = new RedisStore({
    maxSessions: config.limits.maxSessions,
    maxMessagesPerSession: config.limits.maxMessagesPerSession,
    url,
    prefix,
  })
  const app = await buildApp(config, { store, logger: false })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  return { app, store }
}
