import { checkAgentId } from './agents.js'
import type { Clock } from './clock.js'
import { nexusError } from './errors.js'
import { hashSessionKey, newAgentKey, sameKeyHash } from './ids.js'
import type { SessionStore } from '../store/store.js'

/** Who may register an id, and for how long an unused one is kept (HUB_OPEN_REGISTRATION, HUB_IDENTITIES, HUB_IDENTITY_TTL_DAYS). */
export interface IdentityRules {
  /** An id nobody holds is given to its first `connect`; when false, only provisioned and already held ids connect. */
  openRegistration: boolean
  /** Ids the operator provisioned, with the SHA-256 digest of each one's key: checked before the store, never forgotten. */
  provisioned: ReadonlyMap<string, string>
  /** An identity neither connected nor held live for this many days is forgotten. */
  ttlDays: number
}

/** A key digest as HUB_IDENTITIES holds it: SHA-256, 64 lowercase hex characters. */
const DIGEST = /^[0-9a-f]{64}$/

/**
 * Reads HUB_IDENTITIES: one `agent_id key_digest` per line (the digest as `npm run hub-identity`
 * prints it), `#` comments and blank lines ignored. Throws a one-line Error naming the line.
 */
export function parseIdentityLines(text: string): Map<string, string> {
  const identities = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line === '') continue
    const [agentId, digest, ...rest] = line.split(/\s+/)
    const where = `line ${index + 1}`
    if (digest === undefined || rest.length > 0) throw new Error(`${where}: expected "agent_id key_digest"`)
    try {
      checkAgentId(agentId!, 'agent_id')
    } catch {
      throw new Error(`${where}: ${JSON.stringify(agentId!.slice(0, 40))} is not a valid agent id`)
    }
    if (!DIGEST.test(digest)) throw new Error(`${where}: the digest must be 64 lowercase hex characters (SHA-256 of the key)`)
    if (identities.has(agentId!)) throw new Error(`${where}: ${agentId} is listed twice`)
    identities.set(agentId!, digest)
  }
  return identities
}

/** What a successful `connect` learns: the agent's key when this connect created the identity (shown this once). */
export interface Worn {
  agentKey?: string
}

const MS_PER_DAY = 24 * 60 * 60 * 1000

/**
 * The rule "who may wear this agent id" on the hub. Every id has a key: the first to connect
 * with an id nobody holds gets one (when registration is open), everyone after must show it.
 * A refusal is always `invalid_api_key`, whatever the reason (unknown id, no key, a wrong one),
 * so a stranger learns nothing but that.
 */
export class Identities {
  readonly #store: SessionStore
  readonly #rules: IdentityRules
  readonly #clock: Clock

  constructor(store: SessionStore, rules: IdentityRules, clock: Clock) {
    this.#store = store
    this.#rules = rules
    this.#clock = clock
  }

  /** Checks that `apiKey` opens `agentId`, creating the identity if nobody holds the id and registration is open. */
  async wear(agentId: string, apiKey: string | undefined): Promise<Worn> {
    checkAgentId(agentId, 'agent_id')
    // Digested whatever happens, so a refusal takes as long whichever way it is reached.
    const shown = hashSessionKey(apiKey ?? '')
    const provisioned = this.#rules.provisioned.get(agentId)
    if (provisioned !== undefined) return this.#match(apiKey, shown, provisioned)
    const now = this.#clock()
    const held = await this.#store.getIdentity(agentId)
    if (held) {
      this.#match(apiKey, shown, held.keyHash)
      await this.#store.touchIdentities([agentId], now)
      return {}
    }
    if (!this.#rules.openRegistration) throw refused()
    const agentKey = newAgentKey()
    const registered = await this.#store.registerIdentity(agentId, hashSessionKey(agentKey), now)
    if (registered.ok) return { agentKey }
    // Another connect registered it first: this one must show the winner's key.
    return this.#match(apiKey, shown, registered.identity.keyHash)
  }

  /** Keeps the identities a hub holds live (connected agents, providers, channel holders) from being forgotten. */
  async keepAlive(agentIds: string[]): Promise<void> {
    const held = agentIds.filter((id) => !this.#rules.provisioned.has(id))
    if (held.length > 0) await this.#store.touchIdentities(held, this.#clock())
  }

  /** Forgets the identities unused for the TTL, so a name is not held forever by one that left. */
  forgetIdle(): Promise<number> {
    return this.#store.forgetIdleIdentities(this.#clock() - this.#rules.ttlDays * MS_PER_DAY)
  }

  #match(apiKey: string | undefined, shown: string, keyHash: string): Worn {
    if (apiKey === undefined || apiKey === '' || !sameKeyHash(shown, keyHash)) throw refused()
    return {}
  }
}

function refused() {
  return nexusError('invalid_api_key')
}
