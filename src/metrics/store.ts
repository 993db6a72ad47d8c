import type {
  AttemptCount, ClaimOutcome, CreateCodeOutcome, CreateOutcome, JoinOutcome, LeaveOutcome, MessageDraft, NewMember, NewSession, PairingCodeRecord,
  ReadOutcome, ReadRequest, RenewOutcome, SessionStore, SessionWatcher, StatusOutcome, StoreStats, AppendOutcome, EndOutcome,
  IdentityRecord, RegisterIdentityOutcome,
} from '../store/store.js'
import type {
  GetWebhookOutcome, LeaseWebhookOutcome, RemoveWebhookOutcome, SetWebhookOutcome, SettleWebhookOutcome, WebhookRef, WebhookSettlement,
} from '../store/store.js'

/** The store operations a failure is counted under. */
export type StoreOperation = Exclude<keyof SessionStore, 'kind' | 'watch' | 'unwatch'>

/**
 * A store that counts its own failures: every call goes to the store it wraps, and a call that
 * rejects (Redis away, a bug) is reported with its operation before the rejection goes on,
 * unchanged, to the caller. Wrapping keeps the count in one place for every way in (HTTP, the
 * hub, the sweeper) without the core or the stores knowing metrics exist.
 */
export class MeteredStore implements SessionStore {
  readonly #inner: SessionStore
  readonly #failed: (operation: StoreOperation, err: unknown) => void

  constructor(inner: SessionStore, failed: (operation: StoreOperation, err: unknown) => void) {
    this.#inner = inner
    this.#failed = failed
  }

  get kind(): string {
    return this.#inner.kind
  }

  /** Hands back `pending` as it settles, telling of a rejection first. */
  #count<T>(operation: StoreOperation, pending: Promise<T>): Promise<T> {
    return pending.catch((err: unknown) => {
      this.#failed(operation, err)
      throw err
    })
  }

  create(input: NewSession, now: number): Promise<CreateOutcome> {
    return this.#count('create', this.#inner.create(input, now))
  }

  status(sessionId: string, now: number): Promise<StatusOutcome> {
    return this.#count('status', this.#inner.status(sessionId, now))
  }

  join(sessionId: string, member: NewMember, now: number): Promise<JoinOutcome> {
    return this.#count('join', this.#inner.join(sessionId, member, now))
  }

  append(sessionId: string, draft: MessageDraft, keyHash: string | undefined, now: number): Promise<AppendOutcome> {
    return this.#count('append', this.#inner.append(sessionId, draft, keyHash, now))
  }

  end(sessionId: string, agentId: string, keyHash: string | undefined, final: MessageDraft, reason: string, now: number): Promise<EndOutcome> {
    return this.#count('end', this.#inner.end(sessionId, agentId, keyHash, final, reason, now))
  }

  read(sessionId: string, request: ReadRequest, now: number): Promise<ReadOutcome> {
    return this.#count('read', this.#inner.read(sessionId, request, now))
  }

  renew(sessionId: string, agentId: string, ttlSeconds: number | undefined, now: number, keyHash?: string): Promise<RenewOutcome> {
    return this.#count('renew', this.#inner.renew(sessionId, agentId, ttlSeconds, now, keyHash))
  }

  leave(sessionId: string, agentId: string, keyHash: string, now: number): Promise<LeaveOutcome> {
    return this.#count('leave', this.#inner.leave(sessionId, agentId, keyHash, now))
  }

  removeIdleMembers(sessionId: string, idleBefore: number, now: number): Promise<string[]> {
    return this.#count('removeIdleMembers', this.#inner.removeIdleMembers(sessionId, idleBefore, now))
  }

  createCode(code: PairingCodeRecord, now: number, maxPending: number): Promise<CreateCodeOutcome> {
    return this.#count('createCode', this.#inner.createCode(code, now, maxPending))
  }

  getCode(code: string, now: number): Promise<PairingCodeRecord | null> {
    return this.#count('getCode', this.#inner.getCode(code, now))
  }

  claim(code: string, member: NewMember, now: number): Promise<ClaimOutcome> {
    return this.#count('claim', this.#inner.claim(code, member, now))
  }

  countAttempt(key: string, windowMs: number, now: number): Promise<AttemptCount> {
    return this.#count('countAttempt', this.#inner.countAttempt(key, windowMs, now))
  }

  uncountAttempt(key: string, now: number): Promise<void> {
    return this.#count('uncountAttempt', this.#inner.uncountAttempt(key, now))
  }

  registerIdentity(agentId: string, keyHash: string, now: number): Promise<RegisterIdentityOutcome> {
    return this.#count('registerIdentity', this.#inner.registerIdentity(agentId, keyHash, now))
  }

  getIdentity(agentId: string): Promise<IdentityRecord | null> {
    return this.#count('getIdentity', this.#inner.getIdentity(agentId))
  }

  touchIdentities(agentIds: string[], now: number): Promise<void> {
    return this.#count('touchIdentities', this.#inner.touchIdentities(agentIds, now))
  }

  forgetIdleIdentities(idleBefore: number): Promise<number> {
    return this.#count('forgetIdleIdentities', this.#inner.forgetIdleIdentities(idleBefore))
  }

  sweep(now: number): Promise<number> {
    return this.#count('sweep', this.#inner.sweep(now))
  }

  stats(now: number): Promise<StoreStats> {
    return this.#count('stats', this.#inner.stats(now))
  }

  watch(sessionId: string, watcher: SessionWatcher): void {
    this.#inner.watch(sessionId, watcher)
  }

  unwatch(sessionId: string, watcher: SessionWatcher): void {
    this.#inner.unwatch(sessionId, watcher)
  }

  // Webhooks.

  setWebhook(sessionId: string, agentId: string, keyHash: string, hook: { url: string; secret: string }, maxPerSession: number, now: number): Promise<SetWebhookOutcome> {
    return this.#count('setWebhook', this.#inner.setWebhook(sessionId, agentId, keyHash, hook, maxPerSession, now))
  }

  getWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<GetWebhookOutcome> {
    return this.#count('getWebhook', this.#inner.getWebhook(sessionId, agentId, keyHash, now))
  }

  removeWebhook(sessionId: string, agentId: string, keyHash: string, now: number): Promise<RemoveWebhookOutcome> {
    return this.#count('removeWebhook', this.#inner.removeWebhook(sessionId, agentId, keyHash, now))
  }

  leaseWebhook(sessionId: string, agentId: string, holder: string, until: number, now: number): Promise<LeaseWebhookOutcome> {
    return this.#count('leaseWebhook', this.#inner.leaseWebhook(sessionId, agentId, holder, until, now))
  }

  settleWebhook(sessionId: string, agentId: string, holder: string, settlement: WebhookSettlement, now: number): Promise<SettleWebhookOutcome> {
    return this.#count('settleWebhook', this.#inner.settleWebhook(sessionId, agentId, holder, settlement, now))
  }

  dueWebhooks(now: number, limit: number): Promise<WebhookRef[]> {
    return this.#count('dueWebhooks', this.#inner.dueWebhooks(now, limit))
  }

  close(): Promise<void> {
    return this.#count('close', this.#inner.close())
  }
}
