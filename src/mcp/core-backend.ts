import type { ZodType } from 'zod'
import type { Config } from '../config.js'
import { nexusError } from '../core/errors.js'
import { createSessionSchema, renewSchema, sendSchema } from '../core/inputs.js'
import { MAX_WAIT_SECONDS } from '../core/limits.js'
import type { PairingService } from '../core/pairing.js'
import type { Page, SessionService } from '../core/sessions.js'
import type { WebhookService } from '../core/webhooks.js'
import { webhookView } from '../http/routes/webhooks.js'
import type { HoldGate } from '../http/hold-gate.js'
import { iso, pageView, sessionStatusView } from '../http/views.js'
import type { MessagePage } from '../client/types.js'
import type { NexusBackend } from './backend.js'

export interface CoreBackendDeps {
  sessions: SessionService
  pairing: PairingService
  webhooks: WebhookService
  holds: HoldGate
  config: Config
  /** Base of pairing links: PUBLIC_URL, or how the MCP request reached us. */
  publicBase: string
  /** The caller's address: its waits count against its share of held requests, as long-polls do. */
  address: string
}

/**
 * The tools' backend inside the server (the /mcp route): the core's own functions, with the
 * same input schemas and reply shapes as the HTTP routes, so a tool call and the request it
 * stands for cannot disagree. No loopback HTTP: a second trip through the rate limit would count
 * every remote agent against the server's own address.
 */
export function coreBackend(deps: CoreBackendDeps): NexusBackend {
  const { sessions, pairing, config } = deps
  return {
    async createSession(input) {
      const parsed = parse(createSessionSchema(config.limits), input)
      const { session, sessionKey } = await sessions.create(parsed)
      return {
        sessionId: session.id,
        ttl: session.ttlSeconds,
        maxAgents: session.maxAgents,
        state: 'active',
        expiresAt: iso(session.expiresAt),
        createdAt: iso(session.createdAt),
        ...(session.creatorAgentId !== null && sessionKey ? { creatorAgentId: session.creatorAgentId, sessionKey } : {}),
      }
    },
    async status(sessionId) {
      const { session, members } = await sessions.status(sessionId)
      return sessionStatusView(session, members)
    },
    async join(sessionId, agentId) {
      const joined = await sessions.join(sessionId, agentId)
      return { status: 'joined', sessionId: joined.session.id, agentId: joined.agentId, agentsOnline: joined.agentCount, sessionKey: joined.sessionKey }
    },
    async claim(code, agentId) {
      const claimed = await pairing.claim(code, agentId, deps.address)
      return { sessionId: claimed.session.id, status: 'claimed', agentId: claimed.agentId, sessionKey: claimed.sessionKey, agentsOnline: claimed.agentCount }
    },
    async pair(sessionId) {
      const record = await pairing.create(sessionId)
      return { code: record.code, url: `${deps.publicBase}/p/${record.code}`, expiresAt: iso(record.expiresAt) }
    },
    async send(m, message) {
      const { message: stored, session } = await sessions.send(m.sessionId, m.agentId, m.sessionKey, parse(sendSchema, message))
      return { id: stored.id, cursor: String(stored.cursor), expiresAt: iso(session.expiresAt), verified: stored.verified, redactions: stored.redactions }
    },
    async read(m, input) {
      const request = { ...(input.after !== undefined ? { after: input.after } : {}), members: input.members === true, sessionKey: m.sessionKey }
      if (!input.wait) return view(await sessions.poll(m.sessionId, m.agentId, request))
      return view(await longPoll(deps, m.sessionId, m.agentId, request, Math.min(input.wait, MAX_WAIT_SECONDS), input.signal))
    },
    async renew(m, ttl) {
      const parsed = parse(renewSchema(config.limits), ttl === undefined ? {} : { ttl })
      const { session, agents } = await sessions.renew(m.sessionId, m.agentId, parsed.ttl, m.sessionKey)
      return { sessionId: session.id, state: 'active', ttl: session.ttlSeconds, expiresAt: iso(session.expiresAt), agents }
    },
    async leave(m) {
      const { session, agentId } = await sessions.leave(m.sessionId, m.agentId, m.agentId, m.sessionKey)
      return { ok: true, sessionId: session.id, agentId, message: `${agentId} left the session.` }
    },
    async setWebhook(m, url) {
      const set = await deps.webhooks.set(m.sessionId, m.agentId, m.sessionKey, url)
      return { ...webhookView(set.webhook, set.lastCursor), secret: set.secret, replaced: set.replaced }
    },
    async getWebhook(m) {
      const state = await deps.webhooks.get(m.sessionId, m.agentId, m.sessionKey)
      return state ? webhookView(state.webhook, state.lastCursor) : null
    },
    removeWebhook(m) {
      return deps.webhooks.remove(m.sessionId, m.agentId, m.sessionKey)
    },
  }
}

/** The core's long-poll as a promise, holding one of the caller's slots while it waits. */
function longPoll(
  deps: CoreBackendDeps,
  sessionId: string,
  agentId: string,
  request: { after?: number; members: boolean; sessionKey: string },
  waitSeconds: number,
  signal: AbortSignal | undefined,
): Promise<Page> {
  deps.holds.acquire(deps.address)
  return new Promise<Page>((resolve, reject) => {
    let onAbort: (() => void) | undefined
    const done = () => {
      deps.holds.release(deps.address)
      if (onAbort) signal?.removeEventListener('abort', onAbort)
    }
    try {
      const poll = deps.sessions.longPoll(sessionId, agentId, request, waitSeconds * 1000, {
        answer: (page) => {
          done()
          resolve(page)
        },
        fail: (err) => {
          done()
          reject(err)
        },
      })
      // The caller went away (the host cancelled the tool call): stop waiting, answer nothing.
      onAbort = () => {
        poll.cancel()
        done()
        reject(signal?.reason)
      }
      if (signal?.aborted) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    } catch (err) {
      done()
      reject(err)
    }
  })
}

function view(page: Page): MessagePage {
  return pageView(page) as MessagePage
}

/** Parses with the core's schema; a refusal is the same `invalid_request` the HTTP route gives. */
function parse<T>(schema: ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw nexusError('invalid_request', undefined, {
    details: result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  })
}
