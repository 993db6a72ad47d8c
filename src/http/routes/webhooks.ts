import { z } from 'zod'
import { isNexusError } from '../../core/errors.js'
import type { SetWebhook, WebhookService, WebhookState } from '../../core/webhooks.js'
import type { WebhookRecord } from '../../store/store.js'
import { type App, type RouteContext, typed } from '../context.js'
import { agentKeyHeaders, errors, sessionParams } from '../schemas.js'
import { iso } from '../views.js'

/** A webhook's state as a member sees it: its URL and delivery health, never its secret. */
export const webhookHealth = z.object({
  url: z.string(),
  createdAt: z.string(),
  /** The last cursor delivered. */
  cursor: z.string(),
  /** Messages after the cursor (its own included: an upper bound of what is owed). */
  pending: z.number().int(),
  lastSuccessAt: z.string().nullable(),
  lastError: z.string().nullable(),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
})

const webhookSet = webhookHealth.extend({ secret: z.string(), replaced: z.boolean() })
const webhookBody = z.object({ url: z.unknown() }).describe('{"url": "https://..."}')

export function webhookView(webhook: WebhookRecord, lastCursor: number) {
  return {
    url: webhook.url,
    createdAt: iso(webhook.createdAt),
    cursor: String(webhook.cursor),
    pending: Math.max(0, lastCursor - webhook.cursor),
    lastSuccessAt: webhook.lastSuccessAt === null ? null : iso(webhook.lastSuccessAt),
    lastError: webhook.lastError,
    attempts: webhook.attempts,
    // Far-off rechecks of an idle webhook are bookkeeping, not news: shown only while retrying.
    nextAttemptAt: webhook.attempts > 0 ? iso(webhook.nextAttemptAt) : null,
  }
}

function setView(result: SetWebhook) {
  return { ...webhookView(result.webhook, result.lastCursor), secret: result.secret, replaced: result.replaced }
}

function stateView(state: WebhookState) {
  return webhookView(state.webhook, state.lastCursor)
}

/**
 * For a join or a claim with `webhookUrl`: sets the new member's webhook. The member has
 * joined already, so a refusal here does not undo that: it is reported beside the join.
 */
export async function attachWebhook(webhooks: WebhookService, sessionId: string, agentId: string, sessionKey: string, url: string) {
  try {
    const result = await webhooks.set(sessionId, agentId, sessionKey, url)
    return { webhookSecret: result.secret }
  } catch (err) {
    if (!isNexusError(err)) throw err
    return { webhookError: { error: err.code, message: err.message } }
  }
}

/** The optional body of a join or a claim. */
export const joinBody = z.object({ webhookUrl: z.unknown().optional() }).nullish()
export const joinWebhookFields = {
  webhookSecret: z.string().optional(),
  webhookError: z.object({ error: z.string(), message: z.string() }).optional(),
}

/** A member's webhook: set or replace, read its health, remove. */
export function webhookRoutes(app: App, { webhooks }: RouteContext): void {
  const api = typed(app)

  api.put('/v1/sessions/:id/webhook', {
    schema: {
      summary: 'Set or replace your webhook for a session (the signing secret is shown this once)',
      params: sessionParams,
      headers: agentKeyHeaders,
      body: webhookBody,
      response: { 200: webhookSet, ...errors(401, 403, 404, 409) },
    },
  }, async (request) => {
    const result = await webhooks.set(request.params.id, request.headers['x-agent-id'], request.headers['x-session-key'], request.body.url)
    return setView(result)
  })

  api.get('/v1/sessions/:id/webhook', {
    schema: {
      summary: 'Your webhook and its delivery health',
      params: sessionParams,
      headers: agentKeyHeaders,
      response: { 200: z.object({ webhook: webhookHealth.nullable() }), ...errors(401, 403, 404) },
    },
  }, async (request) => {
    const state = await webhooks.get(request.params.id, request.headers['x-agent-id'], request.headers['x-session-key'])
    return { webhook: state ? stateView(state) : null }
  })

  api.delete('/v1/sessions/:id/webhook', {
    schema: {
      summary: 'Remove your webhook',
      params: sessionParams,
      headers: agentKeyHeaders,
      response: { 200: z.object({ ok: z.literal(true), removed: z.boolean() }), ...errors(401, 403, 404) },
    },
  }, async (request) => {
    const removed = await webhooks.remove(request.params.id, request.headers['x-agent-id'], request.headers['x-session-key'])
    return { ok: true as const, removed }
  })
}
