import { nexusError } from '../core/errors.js'

export interface Service {
  serviceId: string
  providerId: string
  name: string | undefined
  description: string | undefined
}

/** A consumer's chat request, waiting for its provider's accept or reject. */
export interface ChatRequest {
  requestId: string
  consumerId: string
  serviceId: string
  at: number
}

/** A request nobody answered is forgotten after this long (the consumer gave up long before). */
export const REQUEST_TTL_MS = 10 * 60 * 1000
/** Requests held per provider; the oldest goes beyond it. */
const MAX_REQUESTS_PER_PROVIDER = 1000

/**
 * The services providers registered, and the chat requests waiting for them. A service belongs
 * to one provider; another agent may take it over only while that provider is offline. A
 * provider gone longer than the TTL is forgotten with its services and requests, so what the
 * hub holds follows who is around, not everyone who ever registered.
 */
export class Services {
  readonly #ttlMs: number
  readonly #services = new Map<string, Service>()
  /** provider id → the ids of the services it holds. */
  readonly #byProvider = new Map<string, Set<string>>()
  /** provider id → its waiting requests, oldest first. */
  readonly #requests = new Map<string, ChatRequest[]>()
  /** provider id → when it went offline, in the order they went (so the oldest is first). */
  readonly #departed = new Map<string, number>()

  constructor(options: { providerTtlMs: number }) {
    this.#ttlMs = options.providerTtlMs
  }

  /** Every agent that provides a service or has requests waiting: ids the hub holds live. */
  providers(): IterableIterator<string> {
    return new Set([...this.#byProvider.keys(), ...this.#requests.keys()]).values()
  }

  /** Services held, and providers with requests waiting: what a sweep should bring down. */
  get size(): { services: number; waiting: number } {
    return { services: this.#services.size, waiting: this.#requests.size }
  }

  get(serviceId: string, now: number): Service | undefined {
    this.forgetDeparted(now)
    return this.#services.get(serviceId)
  }

  register(service: Service, isOnline: (agentId: string) => boolean, now: number): void {
    this.forgetDeparted(now)
    const current = this.#services.get(service.serviceId)
    if (current && current.providerId !== service.providerId && isOnline(current.providerId)) {
      throw nexusError('forbidden', 'Another provider, connected now, holds this service.')
    }
    if (current && current.providerId !== service.providerId) this.#unlist(current)
    this.#services.set(service.serviceId, service)
    let held = this.#byProvider.get(service.providerId)
    if (!held) {
      held = new Set()
      this.#byProvider.set(service.providerId, held)
    }
    held.add(service.serviceId)
  }

  /** The agent went offline: if it provides anything, its services are kept for the TTL, then forgotten. */
  providerLeft(providerId: string, now: number): void {
    if (!this.#byProvider.has(providerId) && !this.#requests.has(providerId)) return
    this.#departed.delete(providerId)
    this.#departed.set(providerId, now)
  }

  /** The agent is connected again: its services are its own for as long as it stays. */
  providerBack(providerId: string): void {
    this.#departed.delete(providerId)
  }

  /** Forgets the services and waiting requests of providers gone longer than the TTL (the oldest first, stopping at the first still within it). */
  forgetDeparted(now: number): void {
    for (const [providerId, leftAt] of this.#departed) {
      if (now - leftAt < this.#ttlMs) return
      this.#departed.delete(providerId)
      for (const serviceId of this.#byProvider.get(providerId) ?? []) this.#services.delete(serviceId)
      this.#byProvider.delete(providerId)
      this.#requests.delete(providerId)
    }
  }

  addRequest(providerId: string, request: ChatRequest): void {
    const waiting = (this.#requests.get(providerId) ?? []).filter(
      (r) => !(r.consumerId === request.consumerId && r.requestId === request.requestId),
    )
    waiting.push(request)
    if (waiting.length > MAX_REQUESTS_PER_PROVIDER) waiting.shift()
    this.#requests.set(providerId, waiting)
  }

  /** Takes the consumer's request (the one named, else its latest) off the provider's list. */
  takeRequest(providerId: string, consumerId: string, requestId: string | undefined, now: number): ChatRequest {
    this.forgetDeparted(now)
    const waiting = this.#requests.get(providerId) ?? []
    let index = -1
    for (let i = waiting.length - 1; i >= 0; i--) {
      const r = waiting[i]!
      if (r.consumerId === consumerId && (requestId === undefined || r.requestId === requestId) && now - r.at < REQUEST_TTL_MS) {
        index = i
        break
      }
    }
    if (index < 0) {
      throw nexusError('invalid_request', requestId === undefined
        ? `No chat request from ${consumerId} is waiting for you.`
        : `No chat request ${requestId} from ${consumerId} is waiting for you.`)
    }
    const [request] = waiting.splice(index, 1)
    if (waiting.length === 0) this.#requests.delete(providerId)
    return request!
  }

  /** Forgets requests older than their TTL, and providers gone longer than theirs. */
  sweep(now: number): void {
    this.forgetDeparted(now)
    for (const [providerId, waiting] of this.#requests) {
      const kept = waiting.filter((r) => now - r.at < REQUEST_TTL_MS)
      if (kept.length === 0) this.#requests.delete(providerId)
      else this.#requests.set(providerId, kept)
    }
  }

  /** A service taken over by another provider leaves its former provider's list. */
  #unlist(service: Service): void {
    const held = this.#byProvider.get(service.providerId)
    held?.delete(service.serviceId)
    if (held?.size === 0) this.#byProvider.delete(service.providerId)
  }
}
