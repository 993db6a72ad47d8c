import { randomBytes } from 'node:crypto'
import { requireAgentId } from './agents.js'
import type { Clock } from './clock.js'
import { type FieldProblem, nexusError } from './errors.js'
import { hashSessionKey, isSessionId } from './ids.js'
import { MAX_PAGE } from './limits.js'
import type { SessionStore, SessionWatcher, StoredMessage, WebhookRecord, WebhookRef, WebhookSettlement } from '../store/store.js'

/**
 * The rules of webhooks: a member, proving itself with its session key, sets, replaces or
 * removes the URL its session's messages are delivered to, and reads its delivery health. The
 * delivery side (src/webhooks/) reaches the store only through the methods here too.
 */

export interface WebhookServiceDeps {
  store: SessionStore
  clock: Clock
  maxPerSession: number
  /** Checks a URL before it is stored (the SSRF guard's static half); a problem refuses it. */
  checkUrl: (url: string) => FieldProblem | null
  /** Page byte budget for a delivery's batch (MAX_PAGE_BYTES). */
  maxBatchBytes: number
  /** Told of each webhook set, so delivery can start watching its session. */
  onSet?: (ref: WebhookRef) => void
}

export interface SetWebhook {
  webhook: WebhookRecord
  /** Shown this once. */
  secret: string
  replaced: boolean
  lastCursor: number
}

export interface WebhookState {
  webhook: WebhookRecord
  lastCursor: number
}

/** A batch to deliver: the member's messages after its cursor, its own left out. */
export interface WebhookBatch {
  messages: StoredMessage[]
  /** The cursor to acknowledge once delivered: the last one read (own messages included). */
  cursor: number
  /** Messages after the old cursor were dropped before they could be delivered. */
  gap: boolean
}

export class WebhookService {
  readonly #store: SessionStore
  readonly #clock: Clock
  readonly #deps: WebhookServiceDeps

  constructor(deps: WebhookServiceDeps) {
    this.#store = deps.store
    this.#clock = deps.clock
    this.#deps = deps
  }

  /** Refuses a URL that may not be used, before anything else happens (a join with a bad webhookUrl joins no one). */
  checkUrl(url: unknown): string {
    if (typeof url !== 'string') throw nexusError('webhook_url_refused', undefined, { details: [{ path: 'url', message: 'must be a string' }] })
    const problem = this.#deps.checkUrl(url)
    if (problem) throw nexusError('webhook_url_refused', `The webhook URL is refused: it ${problem.message}.`, { details: [problem] })
    return url
  }

  async set(sessionId: string, rawAgentId: string | undefined, rawKey: string | undefined, rawUrl: unknown): Promise<SetWebhook> {
    const url = this.checkUrl(rawUrl)
    const { agentId, keyHash } = this.#caller(sessionId, rawAgentId, rawKey)
    const secret = newWebhookSecret()
    const outcome = await this.#store.setWebhook(sessionId, agentId, keyHash, { url, secret }, this.#deps.maxPerSession, this.#clock())
    if (!outcome.ok) {
      if (outcome.reason === 'too_many') {
        throw nexusError('too_many_webhooks', `A session may hold at most ${this.#deps.maxPerSession} webhooks; remove one first.`)
      }
      throw refusal(outcome.reason)
    }
    this.#deps.onSet?.({ sessionId, agentId })
    return { webhook: outcome.webhook, secret, replaced: outcome.replaced, lastCursor: outcome.webhook.cursor }
  }

  /** The caller's webhook and its health; `webhook_not_found`-like absence is null. */
  async get(sessionId: string, rawAgentId: string | undefined, rawKey: string | undefined): Promise<WebhookState | null> {
    const { agentId, keyHash } = this.#caller(sessionId, rawAgentId, rawKey)
    const outcome = await this.#store.getWebhook(sessionId, agentId, keyHash, this.#clock())
    if (!outcome.ok) throw refusal(outcome.reason)
    return outcome.webhook ? { webhook: outcome.webhook, lastCursor: outcome.lastCursor } : null
  }

  async remove(sessionId: string, rawAgentId: string | undefined, rawKey: string | undefined): Promise<boolean> {
    const { agentId, keyHash } = this.#caller(sessionId, rawAgentId, rawKey)
    const outcome = await this.#store.removeWebhook(sessionId, agentId, keyHash, this.#clock())
    if (!outcome.ok) throw refusal(outcome.reason)
    return outcome.removed
  }

  // The delivery side: no caller to check, the lease is the authority.

  lease(ref: WebhookRef, holder: string, until: number) {
    return this.#store.leaseWebhook(ref.sessionId, ref.agentId, holder, until, this.#clock())
  }

  settle(ref: WebhookRef, holder: string, settlement: WebhookSettlement) {
    return this.#store.settleWebhook(ref.sessionId, ref.agentId, holder, settlement, this.#clock())
  }

  due(limit: number) {
    return this.#store.dueWebhooks(this.#clock(), limit)
  }

  /** The messages after `cursor` for the member, or null when it can no longer read (gone: the lease will say so). */
  async batch(ref: WebhookRef, cursor: number): Promise<WebhookBatch | null> {
    const outcome = await this.#store.read(
      ref.sessionId,
      { agentId: ref.agentId, after: cursor, limit: MAX_PAGE, maxBytes: this.#deps.maxBatchBytes, withMembers: false },
      this.#clock(),
    )
    if (!outcome.ok) return null
    const last = outcome.messages.at(-1)
    return {
      messages: outcome.messages.filter((m) => m.agentId !== ref.agentId),
      cursor: last ? last.cursor : cursor,
      gap: outcome.droppedThrough > cursor,
    }
  }

  watch(sessionId: string, watcher: SessionWatcher): void {
    this.#store.watch(sessionId, watcher)
  }

  unwatch(sessionId: string, watcher: SessionWatcher): void {
    this.#store.unwatch(sessionId, watcher)
  }

  now(): number {
    return this.#clock()
  }

  #caller(sessionId: string, rawAgentId: string | undefined, rawKey: string | undefined): { agentId: string; keyHash: string } {
    const agentId = requireAgentId(rawAgentId)
    if (rawKey === undefined || rawKey === '') throw nexusError('missing_session_key', 'The X-Session-Key header is required to manage a webhook.')
    if (!isSessionId(sessionId)) throw nexusError('session_not_found')
    return { agentId, keyHash: hashSessionKey(rawKey) }
  }
}

function refusal(reason: 'session_not_found' | 'not_member' | 'bad_key') {
  if (reason === 'not_member') throw nexusError('agent_not_in_session')
  if (reason === 'bad_key') throw nexusError('invalid_session_key')
  throw nexusError('session_not_found')
}

/** A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}
