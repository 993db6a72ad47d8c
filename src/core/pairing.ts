import { requireAgentId } from './agents.js'
import type { Clock } from './clock.js'
import { nexusError } from './errors.js'
import { hashSessionKey, isSessionId, newPairingCode, newSessionKey, normalizePairingCode } from './ids.js'
import { CODE_MEMORY_MS, type CoreLimits } from './limits.js'
import type { PairingCodeRecord, SessionRecord, SessionStore } from '../store/store.js'

export type CodeState = 'pending' | 'claimed' | 'expired'

export interface CodeStatus {
  code: string
  state: CodeState
  expiresAt: number
}

export interface Claimed {
  session: SessionRecord
  agentId: string
  agentCount: number
  sessionKey: string
}

/** A fresh code colliding with a live one is a 1-in-2^41 event; a few draws always suffice. */
const MAX_CODE_DRAWS = 5

/**
 * Pairing codes: a short, single-use, expiring name for a session that a person can pass on.
 * Claiming one joins the claimer and spends the code in one step.
 */
export class PairingService {
  readonly #store: SessionStore
  readonly #clock: Clock
  readonly #limits: CoreLimits

  constructor(deps: { store: SessionStore; clock: Clock; limits: CoreLimits }) {
    this.#store = deps.store
    this.#clock = deps.clock
    this.#limits = deps.limits
  }

  async create(sessionId: string): Promise<PairingCodeRecord> {
    if (!isSessionId(sessionId)) throw nexusError('session_not_found')
    for (let draw = 0; draw < MAX_CODE_DRAWS; draw++) {
      const now = this.#clock()
      const expiresAt = now + this.#limits.pairCodeTtlSeconds * 1000
      const record: PairingCodeRecord = {
        code: newPairingCode(),
        sessionId,
        expiresAt,
        claimedAt: null,
        forgetAt: expiresAt + CODE_MEMORY_MS,
      }
      const outcome = await this.#store.createCode(record, now)
      if (outcome.ok) return record
      if (outcome.reason === 'session_not_found') throw nexusError('session_not_found')
    }
    throw nexusError('internal_error', 'Could not draw a free pairing code.')
  }

  async claim(rawCode: string, rawAgentId: string | undefined): Promise<Claimed> {
    const agentId = requireAgentId(rawAgentId)
    const code = normalizePairingCode(rawCode)
    if (code === null) throw nexusError('code_not_found')
    const sessionKey = newSessionKey()
    const outcome = await this.#store.claim(code, { agentId, keyHash: hashSessionKey(sessionKey) }, this.#clock())
    if (!outcome.ok) throw nexusError(outcome.reason)
    return { session: outcome.session, agentId, agentCount: outcome.agentCount, sessionKey }
  }

  async status(rawCode: string): Promise<CodeStatus> {
    const code = normalizePairingCode(rawCode)
    const now = this.#clock()
    const record = code === null ? null : await this.#store.getCode(code, now)
    if (!record) throw nexusError('code_not_found')
    return { code: record.code, state: codeState(record, now), expiresAt: record.expiresAt }
  }
}

/** A code is claimed once spent, expired once past its TTL (the store cuts the TTL short when its session ends). */
export function codeState(record: PairingCodeRecord, now: number): CodeState {
  if (record.claimedAt !== null) return 'claimed'
  return record.expiresAt <= now ? 'expired' : 'pending'
}
