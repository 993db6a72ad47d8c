import { sameKeyHash } from '../core/ids.js'
import type { SettleWebhookOutcome, WebhookRecord, WebhookSettlement } from './store.js'

/**
 * The webhook state changes the memory and SQLite stores share (Redis does the same in Lua,
 * src/store/redis/scripts.ts): written once so the stores cannot drift apart.
 */

/** A webhook as a store holds it: the record and its lease. */
export interface HeldWebhook extends WebhookRecord {
  /**
   * The key digest of the member that set it: a member who leaves and another who joins under
   * the same id later does not inherit the webhook (the lease finds it gone).
   */
  memberKeyHash: string
  leaseHolder: string | null
  leaseUntil: number
}

export function newWebhook(hook: { url: string; secret: string }, memberKeyHash: string, cursor: number, now: number): HeldWebhook {
  return {
    url: hook.url, secret: hook.secret, createdAt: now, cursor, lastSuccessAt: null, lastError: null, attempts: 0, nextAttemptAt: now,
    memberKeyHash, leaseHolder: null, leaseUntil: 0,
  }
}

/** A replacement: new url and secret, clean health, the same cursor; due at once. */
export function replaceWebhook(held: HeldWebhook, hook: { url: string; secret: string }, memberKeyHash: string, now: number): void {
  held.memberKeyHash = memberKeyHash
  held.url = hook.url
  held.secret = hook.secret
  held.createdAt = now
  held.lastSuccessAt = null
  held.lastError = null
  held.attempts = 0
  held.nextAttemptAt = now
}

/** Whether the webhook still belongs to the member now wearing its id (`keyHash` null: no member). */
export function stillOwned(held: HeldWebhook, keyHash: string | null): boolean {
  return keyHash !== null && sameKeyHash(held.memberKeyHash, keyHash)
}

/** Whether `holder` may take the lease now (none runs, it ran out, or it is the holder's own). */
export function mayLease(held: HeldWebhook, holder: string, now: number): boolean {
  return held.leaseHolder === null || held.leaseHolder === holder || held.leaseUntil <= now
}

export function lease(held: HeldWebhook, holder: string, until: number): void {
  held.leaseHolder = holder
  held.leaseUntil = until
  held.nextAttemptAt = until
}

/** Applies a settlement by the holder; the caller has checked it holds the lease. */
export function settle(held: HeldWebhook, settlement: WebhookSettlement, lastCursor: number, now: number): SettleWebhookOutcome {
  held.leaseHolder = null
  held.leaseUntil = 0
  if (settlement.kind === 'failed') {
    held.lastError = settlement.error
    held.attempts++
    held.nextAttemptAt = settlement.retryAt
    return 'settled'
  }
  if (settlement.kind === 'idle' && settlement.cursor !== undefined) held.cursor = Math.max(held.cursor, settlement.cursor)
  if (settlement.kind === 'delivered') {
    held.cursor = Math.max(held.cursor, settlement.cursor)
    held.lastSuccessAt = now
    held.lastError = null
    held.attempts = 0
  }
  const more = held.cursor < lastCursor
  held.nextAttemptAt = more ? now : settlement.recheckAt
  return more ? 'more' : 'settled'
}

/** Whether `holder` still holds the lease: even run out, nobody else has taken it, so its result stands. */
export function holds(held: HeldWebhook, holder: string): boolean {
  return held.leaseHolder === holder
}

/** The record without its lease, a copy. */
export function webhookRecord(held: HeldWebhook): WebhookRecord {
  return {
    url: held.url, secret: held.secret, createdAt: held.createdAt, cursor: held.cursor, lastSuccessAt: held.lastSuccessAt,
    lastError: held.lastError, attempts: held.attempts, nextAttemptAt: held.nextAttemptAt,
  }
}
