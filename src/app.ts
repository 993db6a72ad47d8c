import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import { type Config, loadConfig } from './config.js'
import { type Clock, systemClock } from './core/clock.js'
import { nexusError } from './core/errors.js'
import { PairingService } from './core/pairing.js'
import { createRedactor } from './core/redact/index.js'
import { Identities } from './core/identities.js'
import { SessionService } from './core/sessions.js'
import { WebhookService } from './core/webhooks.js'
import type { RouteContext } from './http/context.js'
import { clientErrorHandler } from './http/client-errors.js'
import { ConnectionCap } from './http/connection-cap.js'
import { Draining, SHUTDOWN_RETRY_SECONDS } from './http/draining.js'
import { registerErrorHandling, registerJsonParsing, sendError } from './http/errors.js'
import { addressBudget, rateLimitError } from './http/rate-limit.js'
import { serverFactory } from './http/listener.js'
import { RouteMethods } from './http/methods.js'
import { requestId } from './http/request-id.js'
import { replySerializer } from './http/serializer.js'
import { validatorCompiler } from './http/validator.js'
import { clientFileRoutes } from './http/routes/client-files.js'
import { healthRoutes } from './http/routes/health.js'
import { messageRoutes } from './http/routes/messages.js'
import { mcpRoutes } from './mcp/route.js'
import { homeRoute, pageRoutes } from './http/routes/pages.js'
import { pairingRoutes } from './http/routes/pairing.js'
import { sessionRoutes } from './http/routes/sessions.js'
import { webhookRoutes } from './http/routes/webhooks.js'
import { HoldGate } from './http/hold-gate.js'
import { Hub } from './hub/hub.js'
import { hubRoutes } from './hub/routes.js'
import { HubUpgrades } from './hub/upgrades.js'
import { sseRoutes } from './http/routes/events.js'
import { Metrics } from './metrics/metrics.js'
import { metricsRoute } from './metrics/route.js'
import { MeteredStore } from './metrics/store.js'
import { createStore, storeFacilities } from './store/index.js'
import { Deliverer } from './webhooks/deliver.js'
import { AddressPolicy, urlProblem } from './webhooks/guard.js'
import { WebhookWorker } from './webhooks/worker.js'
import type { SessionStore } from './store/store.js'

export interface BuildOptions {
  /** Defaults to the store the config names (createStore), closed with the app. A store passed in stays open. */
  store?: SessionStore
  clock?: Clock
  /** Parse every reply with its zod schema before sending it (the tests do; it costs time). */
  checkReplies?: boolean
  /** Fastify's logger option; defaults to pino at the configured level. */
  logger?: FastifyServerOptions['logger']
  /** Whether this app delivers webhooks (default true); the API to set them is there either way. */
  webhooks?: boolean
  /** Stands in for DNS in webhook delivery (tests of the SSRF guard). */
  webhookResolve?: typeof import('node:dns').lookup
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's metrics; `src/server.ts` serves them on METRICS_PORT when that is set. */
    nexusMetrics: Metrics
  }
}

export const version: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

/**
 * The application: plugins first, then the app's own error handling and parsing, then routes.
 * Tests build it with `buildApp(loadConfig({...}))` and talk to it with `inject`.
 */
export async function buildApp(config: Config = loadConfig(), options: BuildOptions = {}): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock
  const ownsStore = options.store === undefined

  // JSON escaping can grow a message up to six-fold (\u0000); the core enforces the real limit.
  const bodyLimit = config.limits.maxMessageBytes * 6 + 64 * 1024
  const connections = new ConnectionCap(config.http.maxConnectionsPerAddress)
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers["x-session-key"]', 'req.headers["x-api-key"]', 'req.headers.authorization'],
    },
    // A number of hops is accepted at run time (proxy-addr) though fastify's types omit it.
    trustProxy: config.trustProxy as FastifyServerOptions['trustProxy'],
    bodyLimit,
    requestIdHeader: false,
    genReqId: requestId,
    // A URL that cannot even be decoded never reaches a route: answer it from the catalogue too.
    frameworkErrors: (_err, request, reply) => {
      reply.header('x-request-id', request.id)
      return sendError(reply, nexusError('invalid_request', 'The URL is not valid.'))
    },
    // Timeouts, the per-address connection cap, and catalogue replies for what Node answers
    // before Fastify sees a request (src/http/listener.ts).
    serverFactory: serverFactory({ requestTimeoutMs: config.http.requestTimeoutMs, cap: connections }),
    // Parser-level errors (bad request line, headers too large, timeouts) from the catalogue.
    clientErrorHandler: clientErrorHandler(() => app.log),
    // Requests during shutdown are refused by the onRequest hook below, from the catalogue.
    return503OnClosing: false,
  })
  const draining = new Draining()
  draining.register(app)
  const routeMethods = new RouteMethods()
  routeMethods.collect(app)
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(replySerializer({ checkReplies: options.checkReplies ?? false }))

  // STORE=sqlite (a file under DATA_DIR) by default; STORE=redis shares state (and the rate limit) across instances.
  const ownStore = options.store ?? createStore(config, { log: app.log })
  const facilities = storeFacilities(ownStore)
  // A registry per app (references/operations.md); the store is wrapped so its failures count.
  const metrics = new Metrics()
  app.decorate('nexusMetrics', metrics)
  const store = new MeteredStore(ownStore, (operation, err) => metrics.storeFailed(operation, err))
  const redactor = createRedactor({ extraPatterns: config.redactionPatterns })
  const sessions = new SessionService({ store, clock, limits: config.limits, redactor, requireKeyForReads: config.requireKeyForReads, meter: metrics.meter })
  const pairing = new PairingService({ store, clock, limits: config.limits })
  // Webhooks (references/api.md, "Webhooks"): the rules in the core, delivery in src/webhooks/.
  const webhookPolicy = new AddressPolicy(config.webhooks.allowPrivate)
  const deliverer = new Deliverer({ policy: webhookPolicy, timeoutMs: config.webhooks.timeoutMs, ...(options.webhookResolve ? { resolve: options.webhookResolve } : {}) })
  let webhookWorker: WebhookWorker | undefined
  const webhooks = new WebhookService({
    store,
    clock,
    maxPerSession: config.webhooks.maxPerSession,
    maxBatchBytes: config.limits.maxPageBytes,
    checkUrl: (url) => urlProblem(url, webhookPolicy),
    onSet: (ref) => webhookWorker?.noticeSet(ref),
  })
  webhookWorker = new WebhookWorker({
    webhooks,
    deliverer,
    timeoutMs: config.webhooks.timeoutMs,
    maxPerHost: config.webhooks.maxPerHost,
    maxOutstanding: config.webhooks.maxOutstanding,
    retryBaseMs: config.webhooks.retryBaseMs,
    retryMaxMs: config.webhooks.retryMaxMs,
    log: app.log,
  })

  await app.register(swagger, {
    openapi: {
      info: { title: 'Nexus', version, description: 'Ephemeral sessions and cursor-ordered messages for AI agents.' },
    },
    transform: jsonSchemaTransform,
  })
  await app.register(rateLimit, {
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowSeconds * 1000,
    // On Redis the count is shared by every instance; while Redis is away requests are not
    // limited, and those that need the store answer 503 store_unavailable.
    ...(facilities.rateLimit ? { ...facilities.rateLimit, skipOnError: true } : {}),
    onExceeded: () => metrics.rateLimited(),
    errorResponseBuilder: (_request, context) => rateLimitError(context.max, config.rateLimit.windowSeconds, context.ttl),
  })
  // A callback hook, not an async one: it runs on every request, and a promise per request shows.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    if (!draining.draining) return done()
    // The server is closing: no new work, and this connection closes after the reply.
    reply.header('connection', 'close')
    sendError(reply, nexusError('shutting_down', undefined, { retryAfter: SHUTDOWN_RETRY_SECONDS }))
  })
  // By route pattern, never the raw URL (which holds session ids and codes).
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime)
    done()
  })
  registerErrorHandling(app, routeMethods)
  registerJsonParsing(app, bodyLimit)

  // The chat hub (references/hub.md): a WebSocket on `/` and `/v1/hub`, on the same core.
  // Hub frames that write spend the same per-address budget as HTTP requests.
  const identities = new Identities(store, config.hubIdentities, clock)
  const hub = new Hub({ sessions, identities, limits: config.hub, log: app.log, clock, budget: addressBudget(app, config.rateLimit.windowSeconds) })
  // Added before the plugin's own preClose, so each socket is told 1001 (come back later) first.
  app.addHook('preClose', async () => hub.close())

  const holds = new HoldGate(config.waiters)
  metrics.attach({ stats: () => sessions.stats(), waiters: () => holds.held, hubConnections: () => hub.connections })
  if (config.metrics.port === undefined) metricsRoute(app, metrics, config.metrics.token)
  const context: RouteContext = { sessions, pairing, webhooks, holds, config, version, storeKind: store.kind, startedAt: Date.now() }
  healthRoutes(app, context, facilities.reachable)
  sessionRoutes(app, context)
  messageRoutes(app, context)
  sseRoutes(app, context)
  pairingRoutes(app, context)
  webhookRoutes(app, context)
  pageRoutes(app, context)
  clientFileRoutes(app)
  mcpRoutes(app, context)
  // The WebSocket plugin hooks every route of its scope, so its scope holds the hub's routes
  // alone and plain HTTP requests do not pay for it; upgrades elsewhere are refused first.
  const upgrades = new HubUpgrades(app.server)
  await app.register(async (scope) => {
    await scope.register(websocket, {
      // The plugin only listens to `server`'s 'upgrade' events, which is all the filter emits.
      // UTF-8 is checked by the hub, which answers a bad frame instead of closing the socket.
      options: { maxPayload: config.hub.maxFrameBytes * 4, skipUTF8Validation: true, server: upgrades as unknown as Server },
      errorHandler: (err, socket) => hub.socketError(err, socket),
    })
    upgrades.answerBadHandshakes(scope.websocketServer)
    scope.addHook('onRoute', (route) => {
      if (route.wsHandler) upgrades.serve(route.url)
    })
    // Over a connection cap, the upgrade is answered (JSON, from the catalogue) before it happens;
    // answered here rather than thrown, so a client knocking again and again logs no errors.
    scope.addHook('onRequest', (request, reply, done) => {
      const refused = request.ws ? hub.refusal(request.ip) : undefined
      if (refused) return void sendError(reply, refused)
      done()
    })
    homeRoute(scope, context, (socket, request) => hub.accept(socket, request))
    hubRoutes(scope, hub)
  })

  const sweeper = setInterval(() => {
    sessions.sweep().catch((err: unknown) => app.log.error({ err }, 'sweep failed'))
  }, config.sweepIntervalSeconds * 1000)
  sweeper.unref()
  if (options.webhooks !== false) webhookWorker.start()
  // Long-polls would hold the close up to a minute: answer them now, as the contract says.
  app.addHook('preClose', async () => {
    sessions.releaseWaiters()
  })
  // Last of the preClose hooks: the held requests above are answered before the window opens.
  draining.registerWindow(app)
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
    // Deliveries in flight settle (or their lease runs out for another instance) before the store closes.
    await webhookWorker?.close()
    await deliverer.close()
    if (ownsStore) await store.close()
  })

  return app
}
