import type { Membership } from './backend.js'

/** A membership as a tool finds it again from the handle the model passed. */
export interface Held extends Membership {
  /** The last cursor read through; undefined before the first read. */
  cursor: number | undefined
  /** The server the session lives on, when the keeper knows (stdio: the session's binding). */
  server: string | undefined
}

/**
 * Where the tools keep what an agent needs between calls (session, agent id, key, cursor), and
 * the handle that names it. Two keepers: on disk beside nexus.sh (stdio; the handle is the
 * session id) and in the handle itself (remote; nothing is kept on the server).
 */
export interface SessionKeeper {
  /** Which of the two, for the texts that differ (list sessions). */
  readonly kind: 'disk' | 'handle'
  /** Keeps a new membership (already read through `cursor`, when given); returns its handle. */
  enter(member: Membership, server: string | undefined, cursor?: number): Promise<string>
  /** Finds a membership again, or throws `invalid_request` saying what a handle is. */
  open(handle: string): Promise<Held>
  /** Records that `held` has read through `cursor`; returns the handle to use from now on. */
  advance(handle: string, held: Held, cursor: number): Promise<string>
  /** Forgets a membership once the agent has left or the session is gone. */
  forget(handle: string, held: Held): Promise<void>
  /** Every kept membership with its handle; undefined when the keeper keeps nothing itself. */
  list(): Promise<{ handle: string; held: Held }[] | undefined>
}
