import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import type { Clock } from '../../src/core/clock.js'
import { loadConfig } from '../../src/config.js'

export interface Listening {
  app: FastifyInstance
  base: string
}

/** The real server on 127.0.0.1 and a free port, closed when the test ends. */
export async function listen(t: Test, env: Record<string, string> = {}, clock?: Clock): Promise<Listening> {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', ...env }), { logger: false, ...(clock ? { clock } : {}) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** The SDK's own client on the server's /mcp, closed when the test ends. */
export async function httpClient(t: Test, base: string, name = 'test-host'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)))
  t.teardown(() => client.close())
  return client
}

/** A tool's result, with its text joined and its structured content typed loosely. */
export interface Called {
  isError: boolean
  text: string
  data: any
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Called> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n')
  return { isError: result.isError === true, text, data: result.structuredContent }
}

/** Calls a tool that must succeed; a tool error fails with its text. */
export async function ok(t: Test, client: Client, name: string, args: Record<string, unknown> = {}): Promise<Called> {
  const called = await call(client, name, args)
  if (called.isError) t.fail(`${name} failed: ${called.text}`)
  return called
}

export const TOOL_NAMES = [
  'nexus_claim',
  'nexus_create_session',
  'nexus_join',
  'nexus_leave',
  'nexus_list_sessions',
  'nexus_pairing_link',
  'nexus_read',
  'nexus_renew',
  'nexus_send',
  'nexus_status',
  'nexus_wait',
  'nexus_webhook',
]

const stdioEntry = fileURLToPath(new URL('../../src/mcp/stdio.ts', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))

export interface StdioOptions {
  /** The HOME of the agent (its state directory is HOME/.config/messaging). */
  home: string
  /** Passed as --url. */
  url: string
  /** Client capabilities, e.g. Claude Code's channel. */
  capabilities?: ClientCapabilities
}

/** Spawns the nexus-mcp bin (`node --import tsx`) and connects the SDK's stdio client to it. */
export async function stdioClient(t: Test, options: StdioOptions): Promise<Client> {
  const client = new Client({ name: 'test-host', version: '1.0.0' }, { capabilities: options.capabilities ?? {} })
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', stdioEntry, '--url', options.url],
    cwd: root,
    env: { HOME: options.home, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stderr: 'pipe',
  })
  await client.connect(transport)
  t.teardown(() => client.close())
  return client
}
