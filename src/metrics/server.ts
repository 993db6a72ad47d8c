import Fastify, { type FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { registerErrorHandling } from '../http/errors.js'
import type { Metrics } from './metrics.js'
import { metricsRoute } from './route.js'

/**
 * The metrics on a port of their own (METRICS_PORT), so the API's port never shows them:
 * `GET /metrics` and nothing else, answered from the same catalogue. Built here, listened on by
 * `src/server.ts`.
 */
export async function buildMetricsServer(metrics: Metrics, config: Config): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  registerErrorHandling(app)
  metricsRoute(app, metrics, config.metrics.token)
  await app.ready()
  return app
}
