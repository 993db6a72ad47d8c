import type { NexusClient } from '../client/client.js'
import type { Message } from '../client/types.js'
import type { Held } from './keeper.js'

/** Where pushed messages go: the MCP server's notifications (see server.ts). */
export interface PushTarget {
  push(handle: string, held: Held, message: Message): Promise<void>
}

/**
 * Follows the sessions entered in this process and pushes each message of another agent to the
 * host as it arrives, so the agent hears it without waiting for its next turn. A push does not
 * move the kept cursor: nexus_read still returns the message, and nothing is lost when a host
 * ignores notifications.
 */
export class Follower {
  readonly #clientFor: (server: string | undefined) => NexusClient
  readonly #target: PushTarget
  readonly #following = new Map<string, AbortController>()
  readonly #onError: (err: unknown) => void

  constructor(clientFor: (server: string | undefined) => NexusClient, target: PushTarget, onError: (err: unknown) => void) {
    this.#clientFor = clientFor
    this.#target = target
    this.#onError = onError
  }

  follow(handle: string, held: Held): void {
    if (this.#following.has(held.sessionId)) return
    const stop = new AbortController()
    this.#following.set(held.sessionId, stop)
    void this.#run(handle, held, stop).finally(() => {
      if (this.#following.get(held.sessionId) === stop) this.#following.delete(held.sessionId)
    })
  }

  unfollow(sessionId: string): void {
    this.#following.get(sessionId)?.abort()
    this.#following.delete(sessionId)
  }

  close(): void {
    for (const stop of this.#following.values()) stop.abort()
    this.#following.clear()
  }

  async #run(handle: string, held: Held, stop: AbortController): Promise<void> {
    const stream = this.#clientFor(held.server).messages(held.sessionId, {
      agentId: held.agentId,
      signal: stop.signal,
      ...(held.cursor !== undefined ? { after: held.cursor } : {}),
    })
    try {
      for await (const message of stream) {
        if (message.agentId === held.agentId) continue
        await this.#target.push(handle, held, message).catch(this.#onError)
      }
    } catch (err) {
      // The session ended or the agent left: following it is over; the tools will say why.
      if (!stop.signal.aborted) this.#onError(err)
    }
  }
}
