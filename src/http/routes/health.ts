import { type App, type RouteContext, typed, uptimeSeconds } from '../context.js'
import { errors, health, stats } from '../schemas.js'

/**
 * Health, stats and the OpenAPI document. /health answers 503 while the store cannot be reached
 * (STORE=redis), so a load balancer takes an instance that lost Redis out of rotation; the body
 * says the same in `storeReachable`.
 */
export function healthRoutes(app: App, context: RouteContext, storeReachable: () => Promise<boolean> = async () => true): void {
  const api = typed(app)

  api.get('/health', {
    config: { rateLimit: false },
    schema: { summary: 'Liveness, capabilities and whether the store is reachable', response: { 200: health, 503: health } },
  }, async (_request, reply) => {
    const reachable = await storeReachable()
    reply.code(reachable ? 200 : 503)
    return {
      status: reachable ? ('ok' as const) : ('unavailable' as const),
      version: context.version,
      uptime: uptimeSeconds(context.startedAt),
      store: context.storeKind,
      storeReachable: reachable,
      capabilities: { messageFormat: ['text', 'json'], longPoll: true, serverSentEvents: true, pairing: true, redaction: true, webSocketHub: true },
    }
  })

  api.get('/v1/stats', {
    schema: { summary: 'Counts across the server', response: { 200: stats, ...errors() } },
  }, async () => ({
    ...(await context.sessions.stats()),
    // This instance's own count: each instance holds its own connections, even on a shared store.
    waitingRequests: context.holds.held,
    uptime: uptimeSeconds(context.startedAt),
  }))

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
