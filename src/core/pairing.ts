import { requireAgentId } from './agents.js'
import type { Clock } from './clock.js'
import { nexusError } from './errors.js'
import { GuessBudget } from './guess-budget.js'
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

/** A fresh code colliding with a live one is a 1-in-2^45 event; a few draws always suffice. */
const MAX_CODE_DRAWS = 5

/**
 * Pairing codes: a short, single-use, expiring name for a session that a person can pass on.
 * Claiming one joins the claimer and spends the code in one step.
 *
 * Guessing is what a code must withstand. Every lookup by code (claim, status, the pairing page)
 * names the caller's address and spends from its failure budget (GuessBudget) unless it finds a
 * pending code; a failed claim answers the same whether the code never existed, expired, was
 * spent or lost its session; and a session holds few pending codes at once.
 */
export class PairingService {
  readonly #store: SessionStore
  readonly #clock: Clock
  readonly #limits: CoreLimits
  readonly #budget: GuessBudget

  constructor(deps: { store: SessionStore; clock: Clock; limits: CoreLimits }) {
    this.#store = deps.store
    this.#clock = deps.clock
    this.#limits = deps.limits
    this.#budget = new GuessBudget({
      store: deps.store,
      clock: deps.clock,
      max: deps.limits.pairFailuresMax,
      windowSeconds: deps.limits.pairFailuresWindowSeconds,
    })
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
      const outcome = await this.#store.createCode(record, now, this.#limits.maxPendingCodes)
      if (outcome.ok) return record
      if (outcome.reason === 'session_not_found') throw nexusError('session_not_found')
      if (outcome.reason === 'too_many') {
        throw nexusError('too_many_codes', `A session may hold at most ${this.#limits.maxPendingCodes} pending pairing codes; use one, or wait until one is claimed or expires.`)
      }
    }
    throw nexusError('internal_error', 'Could not draw a free pairing code.')
  }

  /**
   * Claims a code for the agent, on behalf of the client at `address`. A claim that finds no
   * pending code answers `code_expired_or_used` whatever the reason (never existed, expired,
   * spent, its session ended), so a guesser learns nothing about which codes ever existed.
   */
  async claim(rawCode: string, rawAgentId: string | undefined, address: string): Promise<Claimed> {
    const agentId = requireAgentId(rawAgentId)
    await this.#budget.spend(address)
    const code = normalizePairingCode(rawCode)
    if (code === null) throw unusableCode()
    const sessionKey = newSessionKey()
    const outcome = await this.#store.claim(code, { agentId, keyHash: hashSessionKey(sessionKey) }, this.#clock())
    if (outcome.ok || outcome.reason === 'session_full' || outcome.reason === 'agent_id_taken') {
      // The code was right: no failure, even if the join was refused.
      await this.#budget.refund(address)
    }
    if (!outcome.ok) {
      if (outcome.reason === 'session_full' || outcome.reason === 'agent_id_taken') throw nexusError(outcome.reason)
      throw unusableCode()
    }
    return { session: outcome.session, agentId, agentCount: outcome.agentCount, sessionKey }
  }

  /**
   * The state of a code, asked by the client at `address`. Only a pending code is free to ask
   * about: a code that is claimed, expired or unknown spends from the budget, since those
   * answers are what a guesser would be fishing through.
   */
  async status(rawCode: string, address: string): Promise<CodeStatus> {
    await this.#budget.spend(address)
    const code = normalizePairingCode(rawCode)
    const now = this.#clock()
    const record = code === null ? null : await this.#store.getCode(code, now)
    if (!record) throw nexusError('code_not_found')
    const state = codeState(record, now)
    if (state === 'pending') await this.#budget.refund(address)
    return { code: record.code, state, expiresAt: record.expiresAt }
  }
}

function unusableCode() {
  return nexusError('code_expired_or_used', 'This pairing code is unknown, expired or already used; ask for a new link.')
}

/** A code is claimed once spent, expired once past its TTL (the store cuts the TTL short when its session ends). */
export function codeState(record: PairingCodeRecord, now: number): CodeState {
  if (record.claimedAt !== null) return 'claimed'
  return record.expiresAt <= now ? 'expired' : 'pending'
}
