import { nexusError } from '../../core/errors.js'

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
 * to one provider; another agent may take it over only while that provider is offline.
 */
export class Services {
  readonly #services = new Map<string, Service>()
  /** provider id → its waiting requests, oldest first. */
  readonly #requests = new Map<string, ChatRequest[]>()

  get(serviceId: string): Service | undefined {
    return this.#services.get(serviceId)
  }

  register(service: Service, isOnline: (agentId: string) => boolean): void {
    const current = this.#services.get(service.serviceId)
    if (current && current.providerId !== service.providerId && isOnline(current.providerId)) {
      throw nexusError('forbidden', 'Another provider, connected now, holds this service.')
    }
    this.#services.set(service.serviceId, service)
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
  takeRequest(providerId: string, consumerId: string, requestId: string | undefined, now = Date.now()): ChatRequest {
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

  /** Forgets requests older than the TTL. */
  sweep(now = Date.now()): void {
    for (const [providerId, waiting] of this.#requests) {
      const kept = waiting.filter((r) => now - r.at < REQUEST_TTL_MS)
      if (kept.length === 0) this.#requests.delete(providerId)
      else this.#requests.set(providerId, kept)
    }
  }
}
