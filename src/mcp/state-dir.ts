import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { nexusError } from '../core/errors.js'
import type { Membership } from './backend.js'
import type { Held, SessionKeeper } from './keeper.js'

/** The shapes nexus.sh accepts in its files (is_sid, is_agent, is_key, is_cursor). */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/
const KEY = /^[A-Za-z0-9._~+/=-]{1,512}$/
const CURSOR = /^\d{1,18}$/

/** `${XDG_CONFIG_HOME:-$HOME/.config}/messaging`, as nexus.sh computes it. */
export function defaultStateDir(env: Record<string, string | undefined>): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME ?? '', '.config')
  return join(config, 'messaging')
}

/**
 * The stdio keeper: the state directory of nexus.sh, in its layout and format
 * (sessions/<SID>/{agent,key,cursor,server}, one value and a newline per file, directories
 * 0700, files 0600, each write a temporary file renamed into place), so an agent can mix the
 * MCP tools and the bash client on one session. The handle is the session id (or an alias
 * from aliases.json).
 */
export class DiskKeeper implements SessionKeeper {
  readonly kind = 'disk' as const
  readonly #root: string

  constructor(stateDir: string) {
    this.#root = stateDir
  }

  async enter(member: Membership, server: string | undefined, cursor?: number): Promise<string> {
    if (!SAFE_ID.test(member.sessionId) || !SAFE_ID.test(member.agentId) || !KEY.test(member.sessionKey)) {
      throw nexusError('internal_error', 'The server answered a session id or key that cannot be kept.')
    }
    const dir = this.#sessionDir(member.sessionId)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await writeAtomic(join(dir, 'agent'), member.agentId)
    await writeAtomic(join(dir, 'key'), member.sessionKey)
    if (server !== undefined) await writeAtomic(join(dir, 'server'), server)
    if (cursor !== undefined) await writeAtomic(join(dir, 'cursor'), String(cursor))
    return member.sessionId
  }

  async open(handle: string): Promise<Held> {
    const sessionId = await this.#resolve(handle.trim())
    const dir = this.#sessionDir(sessionId)
    const agentId = await readValue(join(dir, 'agent'))
    const sessionKey = await readValue(join(dir, 'key'))
    if (agentId === undefined || sessionKey === undefined || !SAFE_ID.test(agentId) || !KEY.test(sessionKey)) {
      throw nexusError('invalid_request', `No membership of session "${handle}" is kept here (no agent id and key in ${dir}). Pass the \`session\` value returned by nexus_create_session, nexus_claim or nexus_join, or call nexus_list_sessions.`)
    }
    const cursor = await readValue(join(dir, 'cursor'))
    const server = await readValue(join(dir, 'server'))
    return {
      sessionId,
      agentId,
      sessionKey,
      cursor: cursor !== undefined && CURSOR.test(cursor) ? Number(cursor) : undefined,
      server: server !== undefined && /^https?:\/\/\S+$/.test(server) ? server : undefined,
    }
  }

  async advance(handle: string, held: Held, cursor: number): Promise<string> {
    // Like nexus.sh's save_cursor: read again and only ever move forward, so a poll of the bash
    // client in between is never undone.
    const path = join(this.#sessionDir(held.sessionId), 'cursor')
    const saved = await readValue(path)
    if (saved === undefined || !CURSOR.test(saved) || cursor > Number(saved)) await writeAtomic(path, String(cursor))
    return handle.trim() === held.sessionId ? handle.trim() : held.sessionId
  }

  async forget(_handle: string, held: Held): Promise<void> {
    await rm(this.#sessionDir(held.sessionId), { recursive: true, force: true })
    const aliases = await this.#aliases()
    const kept = Object.fromEntries(Object.entries(aliases).filter(([, sid]) => sid !== held.sessionId))
    if (Object.keys(kept).length !== Object.keys(aliases).length) await writeAtomic(join(this.#root, 'aliases.json'), JSON.stringify(kept))
  }

  async list(): Promise<{ handle: string; held: Held }[]> {
    let names: string[]
    try {
      names = await readdir(join(this.#root, 'sessions'))
    } catch {
      return []
    }
    const found: { handle: string; held: Held }[] = []
    for (const name of names.sort()) {
      if (!SAFE_ID.test(name)) continue
      try {
        found.push({ handle: name, held: await this.open(name) })
      } catch {
        // A session of nexus.sh without a membership (created with no creator): nothing to act as.
      }
    }
    return found
  }

  #sessionDir(sessionId: string): string {
    return join(this.#root, 'sessions', sessionId)
  }

  /** A session id, or an alias nexus.sh was given for one. */
  async #resolve(handle: string): Promise<string> {
    if (!SAFE_ID.test(handle)) {
      throw nexusError('invalid_request', 'A session handle is the session id (48 hexadecimal characters) returned by nexus_create_session, nexus_claim or nexus_join.')
    }
    const aliased = (await this.#aliases())[handle]
    if (typeof aliased === 'string' && SAFE_ID.test(aliased)) {
      const own = await readValue(join(this.#sessionDir(handle), 'agent'))
      if (own === undefined) return aliased
    }
    return handle
  }

  async #aliases(): Promise<Record<string, unknown>> {
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.#root, 'aliases.json'), 'utf8'))
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
    } catch {
      return {}
    }
  }
}

/** The first line of a state file, or undefined when there is none. */
async function readValue(path: string): Promise<string | undefined> {
  try {
    const line = (await readFile(path, 'utf8')).split('\n', 1)[0] ?? ''
    return line === '' ? undefined : line
  } catch {
    return undefined
  }
}

/** A temporary file in the same directory, then a rename: a reader never sees half a value. */
async function writeAtomic(path: string, value: string): Promise<void> {
  const slash = path.lastIndexOf('/')
  const temporary = `${path.slice(0, slash)}/.${path.slice(slash + 1)}.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    await writeFile(temporary, `${value}\n`, { mode: 0o600 })
    await rename(temporary, path)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
}
