#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { NexusClient } from '../client/client.js'
import { clientBackend, type NexusBackend } from './backend.js'
import { Follower } from './follow.js'
import { createMcpServer, pushMessage } from './server.js'
import { defaultStateDir, DiskKeeper } from './state-dir.js'

/**
 * `nexus-mcp`: the Nexus tools for a local MCP host, over stdio. It talks to a Nexus server as a
 * NexusClient and keeps memberships in nexus.sh's state directory, so the bash client and the
 * tools share sessions. A process entry like src/server.ts: the only place here that reads the
 * environment and the command line. stdout carries the protocol alone; notes go to stderr.
 */

const DEFAULT_URL = 'http://localhost:8765'
const USAGE = `usage: nexus-mcp [--url URL]
  The Nexus MCP server for local hosts (stdio). The server is --url, else $NEXUS_URL, else the
  serverUrl of nexus.sh's config.json, else ${DEFAULT_URL}. Sessions are kept in
  \${XDG_CONFIG_HOME:-$HOME/.config}/messaging/, shared with nexus.sh.
`

function main(): void {
  const args = process.argv.slice(2)
  let url: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--url' && args[i + 1] !== undefined) url = args[++i]
    else if (arg.startsWith('--url=')) url = arg.slice('--url='.length)
    else if (arg === '--help' || arg === '-h') {
      process.stderr.write(USAGE)
      process.exit(0)
    } else {
      process.stderr.write(`nexus-mcp: unknown argument ${JSON.stringify(arg)}\n${USAGE}`)
      process.exit(1)
    }
  }
  const stateDir = defaultStateDir(process.env)
  const defaultServer = trimUrl(url ?? nonEmpty(process.env.NEXUS_URL) ?? configuredUrl(stateDir) ?? DEFAULT_URL)
  if (!/^https?:\/\/\S+$/.test(defaultServer)) {
    process.stderr.write(`nexus-mcp: the server URL ${JSON.stringify(defaultServer)} is not an http(s) URL\n`)
    process.exit(1)
  }
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

  // One client per server: a session stays on the server it was joined on, as with nexus.sh.
  const clients = new Map<string, NexusClient>()
  const clientFor = (server: string | undefined): NexusClient => {
    const base = trimUrl(server ?? defaultServer)
    let client = clients.get(base)
    if (!client) {
      client = new NexusClient({ baseUrl: base })
      clients.set(base, client)
    }
    return client
  }
  const backends = new Map<NexusClient, NexusBackend>()
  const backendFor = (server: string | undefined): NexusBackend => {
    const client = clientFor(server)
    let backend = backends.get(client)
    if (!backend) {
      backend = clientBackend(client)
      backends.set(client, backend)
    }
    return backend
  }

  const note = (err: unknown) => process.stderr.write(`nexus-mcp: ${err instanceof Error ? err.message : String(err)}\n`)
  let follower: Follower | undefined
  const server = createMcpServer({ version }, {
    keeper: new DiskKeeper(stateDir),
    backend: backendFor,
    defaultServer,
    // A link names its server: claim it there, whatever the default is.
    linkServer: (base) => (base === undefined ? defaultServer : trimUrl(base)),
    follow: (handle, held) => follower?.follow(handle, held),
    unfollow: (sessionId) => follower?.unfollow(sessionId),
  })
  follower = new Follower(clientFor, { push: (handle, held, message) => pushMessage(server, handle, held, message) }, note)

  const transport = new StdioServerTransport()
  let closing = false
  const close = () => {
    if (closing) return
    closing = true
    follower?.close()
    Promise.allSettled([...clients.values()].map((client) => client.close())).finally(() => process.exit(0))
  }
  transport.onclose = close
  process.stdin.on('end', close)
  process.on('SIGINT', close)
  process.on('SIGTERM', close)
  server.connect(transport).catch((err: unknown) => {
    note(err)
    process.exit(1)
  })
}

function configuredUrl(stateDir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(stateDir, 'config.json'), 'utf8')) as { serverUrl?: unknown }
    return typeof config.serverUrl === 'string' ? nonEmpty(config.serverUrl) : undefined
  } catch {
    return undefined
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function trimUrl(url: string): string {
  return url.replace(/\/+$/, '')
}

main()
