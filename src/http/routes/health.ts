import { type App, type RouteContext, typed, uptimeSeconds } from '../context.js'
import { errors, health, stats } from '../schemas.js'

/** Health, stats and the OpenAPI document. */
export function healthRoutes(app: App, context: RouteContext): void {
  const api = typed(app)

  api.get('/health', {
    config: { rateLimit: false },
    schema: { summary: 'Liveness and capabilities', response: { 200: health } },
  }, async () => ({
    status: 'ok' as const,
    version: context.version,
    uptime: uptimeSeconds(context.startedAt),
    store: context.storeKind,
    capabilities: { messageFormat: ['text', 'json'], longPoll: true, serverSentEvents: true, pairing: true, redaction: true },
  }))

  api.get('/v1/stats', {
    schema: { summary: 'Counts across the server', response: { 200: stats, ...errors() } },
  }, async () => ({ ...(await context.sessions.stats()), uptime: uptimeSeconds(context.startedAt) }))

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
