import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { buildMetricsServer } from './metrics/server.js'
import { StoreOpenError } from './store/index.js'

/** Requests in flight get this long to finish once a shutdown begins; then their connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000
/** The hard bound: past it the process exits 1 whatever is left (it should never come to this). */
const SHUTDOWN_FORCE_MS = 10_000

/**
 * The process: read the configuration, build the app, listen, and close with grace on SIGINT or
 * SIGTERM (stop accepting, let requests in flight finish, exit 0). The only file that listens or
 * reads process.env.
 */
async function main(): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`nexus: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  let app
  try {
    app = await buildApp(config)
  } catch (err) {
    // DATA_DIR unusable, a foreign or newer file, or another server holding it: one line, as for config.
    if (err instanceof StoreOpenError) {
      process.stderr.write(`nexus: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  // METRICS_PORT: the metrics on a port of their own, and not on the API's.
  const metricsServer = config.metrics.port !== undefined ? await buildMetricsServer(app.nexusMetrics, config) : undefined

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    // Held long-polls, streams, idle connections and half-sent requests end within about half a
    // second (app.ts, http/draining.ts); whatever still holds a connection after the grace (a
    // reply its client does not read, a handler that does not finish) is cut, so the close ends
    // within its bound with exit 0.
    const cut = setTimeout(() => {
      app.log.warn(`connections still open after ${SHUTDOWN_GRACE_MS / 1000} s; closing them`)
      app.server.closeAllConnections()
    }, SHUTDOWN_GRACE_MS)
    cut.unref()
    const force = setTimeout(() => {
      app.log.error(`still not closed after ${SHUTDOWN_FORCE_MS / 1000} s; exiting anyway`)
      process.exit(1)
    }, SHUTDOWN_FORCE_MS)
    force.unref()
    Promise.all([app.close(), metricsServer?.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error while closing')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))

  await app.listen({ port: config.port, host: config.host })
  if (metricsServer) {
    await metricsServer.listen({ port: config.metrics.port, host: config.host })
    app.log.info({ port: config.metrics.port }, 'metrics listening')
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`nexus: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
