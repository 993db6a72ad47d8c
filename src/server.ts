import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { buildMetricsServer } from './metrics/server.js'

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
  const app = await buildApp(config)
  // METRICS_PORT: the metrics on a port of their own, and not on the API's.
  const metricsServer = config.metrics.port !== undefined ? await buildMetricsServer(app.nexusMetrics, config) : undefined

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => {
      app.log.error('requests still in flight after 10 s; exiting anyway')
      process.exit(1)
    }, 10_000)
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
