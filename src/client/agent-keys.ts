import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** An agent key as the hub hands it out; anything else in a key file is ignored. */
const AGENT_KEY = /^[A-Za-z0-9._~+/=-]{1,512}$/

/**
 * `${XDG_CONFIG_HOME:-$HOME/.config}/messaging/hub-keys`: beside nexus.sh's state, honouring the
 * same variable, so an agent's keys live where its other Nexus state does.
 */
export function defaultKeyDir(env: Record<string, string | undefined> = process.env): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME ?? '', '.config')
  return join(config, 'messaging', 'hub-keys')
}

/**
 * The folder for one hub: its scheme, host and port (`ws_localhost_8765`), so `/` and `/v1/hub`
 * of one server share a key, and two servers never do.
 */
export function hubFolder(hubUrl: string): string {
  const url = new URL(hubUrl)
  const port = url.port || (url.protocol === 'wss:' || url.protocol === 'https:' ? '443' : '80')
  return `${url.protocol.replace(/:$/, '')}_${url.hostname}_${port}`.replace(/[^A-Za-z0-9._-]/g, '_')
}

/**
 * One agent's key for one hub, in a file of its own (`<dir>/<hub>/<agentId>`, the key and a
 * newline; directories 0700, the file 0600, written to a temporary file and renamed into place so
 * a crash never leaves half a key).
 */
export class AgentKeyFile {
  readonly path: string
  readonly #dir: string

  constructor(dir: string, hubUrl: string, agentId: string) {
    this.#dir = join(dir, hubFolder(hubUrl))
    this.path = join(this.#dir, agentId)
  }

  /** The key kept, or undefined when there is none (or the file holds something else). */
  read(): string | undefined {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch {
      return undefined
    }
    const key = text.trim()
    return AGENT_KEY.test(key) ? key : undefined
  }

  write(key: string): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 })
    const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`
    writeFileSync(temporary, `${key}\n`, { mode: 0o600 })
    renameSync(temporary, this.path)
  }
}
