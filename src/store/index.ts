import type { Config } from '../config.js'
import { MemoryStore } from './memory.js'
import { RedisStore, type RedisStoreOptions } from './redis.js'
import { SqliteStore } from './sqlite/store.js'
import type { SessionStore } from './store.js'

export interface StoreDeps {
  /** Where the Redis and SQLite stores report trouble and migrations (the app's logger). */
  log?: RedisStoreOptions['log']
}

/**
 * The store the configuration asks for: STORE=sqlite (the default, a file under DATA_DIR),
 * STORE=memory or STORE=redis. A SQLite file that cannot be used throws StoreOpenError, whose
 * message is the one line to stop the start with.
 */
export function createStore(config: Config, deps: StoreDeps = {}): SessionStore {
  const limits = {
    maxSessions: config.limits.maxSessions,
    maxMessagesPerSession: config.limits.maxMessagesPerSession,
    maxSessionBytes: config.limits.maxSessionBytes,
    maxStoreBytes: config.limits.maxStoreBytes,
  }
  if (config.store.kind === 'redis') {
    // REDIS_CLUSTER_NODES set: a Cluster client on those seed nodes, and REDIS_URL is unused.
    const where = config.store.redisClusterNodes ? { clusterNodes: config.store.redisClusterNodes } : { url: config.store.redisUrl }
    return new RedisStore({ ...limits, ...where, prefix: config.store.redisPrefix, ...(deps.log ? { log: deps.log } : {}) })
  }
  if (config.store.kind === 'sqlite') {
    return new SqliteStore({ ...limits, dataDir: config.store.dataDir, synchronous: config.store.sqliteSynchronous, ...(deps.log ? { log: deps.log } : {}) })
  }
  return new MemoryStore(limits)
}

/**
 * What the app needs from a store beyond the contract: whether it is reachable (for /health) and,
 * for a shared store, the Redis connection the rate limiter counts on, so the limit holds across
 * instances (single Redis or Cluster: the limiter's script touches one key, so a Cluster routes it
 * by that key). Only here does anything look at which store runs.
 */
export function storeFacilities(store: SessionStore): {
  reachable: () => Promise<boolean>
  rateLimit?: { redis: RedisStore['client']; nameSpace: string }
} {
  if (store instanceof RedisStore) {
    return { reachable: () => store.ping(), rateLimit: { redis: store.client, nameSpace: `${store.prefix}rate:` } }
  }
  return { reachable: async () => true }
}

export { StoreOpenError } from './sqlite/open.js'
export type { SessionStore } from './store.js'
