import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type BuildOptions } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config.js'
import { NexusClient, type NexusClientOptions } from '../../src/client/index.js'

export interface Running {
  app: FastifyInstance
  config: Config
  port: number
  baseUrl: string
  /** Closes the server (once; the test's teardown closes it otherwise). */
  stop(): Promise<void>
}

/**
 * The real server on a real port (any free one unless given), closed when the test ends.
 * `beforeListen` runs on the built app before it listens (to `inject` into it unseen).
 */
export async function serve(
  t: Test,
  env: Record<string, string> = {},
  options: BuildOptions = {},
  port = 0,
  beforeListen?: (app: FastifyInstance) => Promise<void>,
): Promise<Running> {
  const config = loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', ...env })
  const app = await buildApp(config, { logger: false, ...options })
  await beforeListen?.(app)
  await app.listen({ port, host: '127.0.0.1' })
  const bound = (app.server.address() as AddressInfo).port
  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= app.close())
  t.teardown(stop)
  return { app, config, port: bound, baseUrl: `http://127.0.0.1:${bound}`, stop }
}

/** A client of that server with quick backoff, closed when the test ends. */
export function clientOf(t: Test, baseUrl: string, options: NexusClientOptions = {}): NexusClient {
  const client = new NexusClient({ baseUrl, backoff: { initialDelayMs: 20, maxDelayMs: 200 }, ...options })
  t.teardown(() => client.close())
  return client
}

/** Resolves once `check` holds, polling every few ms; fails after `ms`. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
