import { isIP } from 'node:net'
import { Agent, request } from 'undici'
import { type AddressPolicy, guardedLookup } from './guard.js'

/** The most of a receiver's reply that is read (then the connection is dropped): only the status matters. */
const MAX_REPLY_BYTES = 16 * 1024

export type DeliveryResult = { ok: true } | { ok: false; error: string }

export interface DelivererOptions {
  policy: AddressPolicy
  /** The whole call, connect to the end of the reply, within this. */
  timeoutMs: number
  /** Stands in for DNS in tests: a name that resolves to a refused address. */
  resolve?: Parameters<typeof guardedLookup>[1]
}

/**
 * One POST to a webhook URL. The connection's own lookup resolves the host and refuses a
 * refused address, and connects to the address it checked; a literal address is checked here
 * (no lookup runs for one). Redirects are not followed (a 3xx is a failure), the reply is read
 * up to a cap, and the call has a deadline. Errors name what went wrong, never the secret.
 */
export class Deliverer {
  readonly #policy: AddressPolicy
  readonly #timeoutMs: number
  readonly #agent: Agent

  constructor(options: DelivererOptions) {
    this.#policy = options.policy
    this.#timeoutMs = options.timeoutMs
    this.#agent = new Agent({
      connect: { lookup: guardedLookup(options.policy, options.resolve), timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4000,
    })
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<DeliveryResult> {
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return { ok: false, error: 'the URL is not valid' }
    }
    const literal = target.hostname.replace(/^\[(.*)\]$/, '$1')
    if (isIP(literal) !== 0) {
      const refused = this.#policy.refusal(literal)
      if (refused) return { ok: false, error: `refused: a ${refused} address` }
    }
    const signal = AbortSignal.timeout(this.#timeoutMs)
    try {
      const reply = await request(target, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'nexus-webhooks' },
        body,
        signal,
      })
      await reply.body.dump({ limit: MAX_REPLY_BYTES }).catch(() => {})
      if (reply.statusCode >= 200 && reply.statusCode < 300) return { ok: true }
      return { ok: false, error: `HTTP ${reply.statusCode}` }
    } catch (err) {
      return { ok: false, error: describe(err, signal) }
    }
  }

  async close(): Promise<void> {
    await this.#agent.destroy().catch(() => {})
  }
}

/** A short, safe account of a failed call: a kind, never a stack or a header. */
function describe(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timed out'
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; name?: string; message?: string } }
  const code = e.cause?.code ?? e.code
  if (e.name === 'RefusedAddressError' || code === 'EWEBHOOKREFUSED') return `refused: ${e.message ?? e.cause?.message}`
  if (e.cause?.name === 'RefusedAddressError') return `refused: ${e.cause.message}`
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timed out'
  if (code) return `connection failed (${code})`
  return 'connection failed'
}
