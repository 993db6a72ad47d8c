import type { Connection } from './connection.js'
import type { ServerFrame } from './frames.js'

/** What the hub holds for an agent in one of its channels. */
export interface AgentChannel {
  /** The key the core handed out when the hub made the channel; absent for a channel joined over HTTP. */
  sessionKey: string | undefined
  /** The last cursor delivered to this agent (bytes handed to the kernel) or that it says it holds; -1: from the start. */
  cursor: number
}

/** Control frames (accept, reject, end) held for an agent that is offline, at most this many. */
const MAX_OUTBOX = 100
/** Message ids remembered per agent, so a client that sends again after a drop stores nothing twice. */
const MAX_RECENT_SENDS = 256

/**
 * Everything the hub knows of one agent, connected or not: the connection that holds its id,
 * its channels (keys and cursors), the control frames waiting for it, and the
 * sends it made recently. Per process: see references/hub.md, "One process".
 */
export class AgentRecord {
  readonly agentId: string
  connection: Connection | undefined
  readonly channels = new Map<string, AgentChannel>()
  readonly outbox: ServerFrame[] = []
  readonly recentSends = new Map<string, Promise<ServerFrame>>()

  constructor(agentId: string) {
    this.agentId = agentId
  }

  /** Remembers a send by its client-chosen id, forgetting the oldest beyond the cap. */
  rememberSend(messageId: string, ack: Promise<ServerFrame>): void {
    this.recentSends.set(messageId, ack)
    if (this.recentSends.size > MAX_RECENT_SENDS) this.recentSends.delete(this.recentSends.keys().next().value!)
  }

  get idle(): boolean {
    return this.connection === undefined && this.channels.size === 0 && this.outbox.length === 0
  }
}

/**
 * Who is who: agent id → record, and which live connection holds each id. An id is held by
 * one connection at a time; a new one (whose key the core has checked) takes it over.
 */
export class Registry {
  readonly #agents = new Map<string, AgentRecord>()
  readonly #connections = new Set<Connection>()
  /** Connections held per client address, for the per-address cap. */
  readonly #byAddress = new Map<string, number>()

  get size(): number {
    return this.#connections.size
  }

  fromAddress(address: string): number {
    return this.#byAddress.get(address) ?? 0
  }

  connections(): Iterable<Connection> {
    return this.#connections
  }

  add(connection: Connection): void {
    if (this.#connections.has(connection)) return
    this.#connections.add(connection)
    this.#byAddress.set(connection.address, this.fromAddress(connection.address) + 1)
  }

  agent(agentId: string): AgentRecord | undefined {
    return this.#agents.get(agentId)
  }

  ensure(agentId: string): AgentRecord {
    let record = this.#agents.get(agentId)
    if (!record) {
      record = new AgentRecord(agentId)
      this.#agents.set(agentId, record)
    }
    return record
  }

  online(agentId: string): Connection | undefined {
    return this.#agents.get(agentId)?.connection
  }

  /**
   * Gives `agentId` to `connection`, which has shown the agent's key: another live connection
   * holding it is returned, to be closed.
   */
  claim(connection: Connection, agentId: string): { record: AgentRecord; replaced?: Connection } {
    const record = this.ensure(agentId)
    const holder = record.connection
    record.connection = connection
    if (holder && holder !== connection && holder.open) return { record, replaced: holder }
    return { record }
  }

  /** Every agent id the hub holds something for: connected, holding channels, or with frames waiting. */
  agentIds(): IterableIterator<string> {
    return this.#agents.keys()
  }

  /** Forgets a closed connection; its agent goes offline unless another connection took it over. */
  remove(connection: Connection): AgentRecord | undefined {
    if (this.#connections.delete(connection)) {
      const held = this.fromAddress(connection.address)
      if (held <= 1) this.#byAddress.delete(connection.address)
      else this.#byAddress.set(connection.address, held - 1)
    }
    const record = connection.agentId === undefined ? undefined : this.#agents.get(connection.agentId)
    if (!record || record.connection !== connection) return undefined
    record.connection = undefined
    return record
  }

  /** Holds a control frame for an offline agent (the oldest goes beyond the cap). */
  hold(agentId: string, frame: ServerFrame): void {
    const record = this.ensure(agentId)
    record.outbox.push(frame)
    if (record.outbox.length > MAX_OUTBOX) record.outbox.shift()
  }

  /** Drops the record of an agent that has nothing left here, so memory follows live state. */
  forgetIfIdle(agentId: string): void {
    if (this.#agents.get(agentId)?.idle) this.#agents.delete(agentId)
  }
}
