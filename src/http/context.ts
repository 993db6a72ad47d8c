import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Config } from '../config.js'
import type { PairingService } from '../core/pairing.js'
import type { SessionService } from '../core/sessions.js'
import type { WebhookService } from '../core/webhooks.js'
import type { HoldGate } from './hold-gate.js'

/** What every route module is handed: the core's services and the little it needs besides. */
export interface RouteContext {
  sessions: SessionService
  pairing: PairingService
  /** Members' webhooks (references/api.md, "Webhooks"). */
  webhooks: WebhookService
  /** Caps the requests held open (long-polls, streams). */
  holds: HoldGate
  config: Config
  version: string
  storeKind: string
  startedAt: number
}

export type App = FastifyInstance
export const typed = (app: FastifyInstance) => app.withTypeProvider<ZodTypeProvider>()

/** The base URL links are built from: PUBLIC_URL when set, else how this request reached us. */
export function publicBase(config: Config, request: FastifyRequest): string {
  return config.publicUrl ?? `${request.protocol}://${request.host}`
}

export function uptimeSeconds(startedAt: number): number {
  return Math.round((Date.now() - startedAt) / 1000)
}
