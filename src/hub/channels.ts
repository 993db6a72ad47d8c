/**
 * A channel is a session of the core. The hub remembers how it came to be (a service chat, a
 * direct pair, or a session joined over HTTP that a member used through the hub) and which
 * agents hold it. Whether it ended is the session's to say (core `end`), not the hub's.
 */
export interface ChannelInfo {
  id: string
  kind: 'service' | 'direct' | 'session'
  serviceId?: string
  providerId?: string
  consumerId?: string
  /** Agents whose hub record holds this channel (key and cursor). */
  holders: Set<string>
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\n${b}` : `${b}\n${a}`)
const serviceKey = (serviceId: string, consumerId: string) => `${serviceId}\n${consumerId}`

/**
 * The channels this process knows, and two indexes for addressing them without an id: the
 * open channel of a consumer with a service, and the open channel of a pair of agents (the
 * latest made, of either kind).
 */
export class ChannelDirectory {
  readonly #channels = new Map<string, ChannelInfo>()
  readonly #byService = new Map<string, string>()
  readonly #byPair = new Map<string, string>()

  get(channelId: string): ChannelInfo | undefined {
    return this.#channels.get(channelId)
  }

  /** The channel's record, made as a plain session if the hub has not seen it before. */
  ensure(channelId: string): ChannelInfo {
    let info = this.#channels.get(channelId)
    if (!info) {
      info = { id: channelId, kind: 'session', holders: new Set() }
      this.#channels.set(channelId, info)
    }
    return info
  }

  add(info: ChannelInfo): void {
    this.#channels.set(info.id, info)
    if (info.kind === 'service' && info.serviceId !== undefined && info.consumerId !== undefined) {
      this.#byService.set(serviceKey(info.serviceId, info.consumerId), info.id)
    }
    if (info.providerId !== undefined && info.consumerId !== undefined) this.#byPair.set(pairKey(info.providerId, info.consumerId), info.id)
  }

  forService(serviceId: string, consumerId: string): string | undefined {
    return this.#byService.get(serviceKey(serviceId, consumerId))
  }

  forPair(a: string, b: string): string | undefined {
    return this.#byPair.get(pairKey(a, b))
  }

  /** The channel's session was ended: stop addressing it by service or pair (the next chat makes a new one). */
  retire(channelId: string): void {
    const info = this.#channels.get(channelId)
    if (info) this.#unindex(info)
  }

  remove(channelId: string): void {
    const info = this.#channels.get(channelId)
    if (!info) return
    this.#unindex(info)
    this.#channels.delete(channelId)
  }

  all(): IterableIterator<ChannelInfo> {
    return this.#channels.values()
  }

  #unindex(info: ChannelInfo): void {
    if (info.serviceId !== undefined && info.consumerId !== undefined) {
      const key = serviceKey(info.serviceId, info.consumerId)
      if (this.#byService.get(key) === info.id) this.#byService.delete(key)
    }
    if (info.providerId !== undefined && info.consumerId !== undefined) {
      const key = pairKey(info.providerId, info.consumerId)
      if (this.#byPair.get(key) === info.id) this.#byPair.delete(key)
    }
  }
}
