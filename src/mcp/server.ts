import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { Message } from '../client/types.js'
import type { Held } from './keeper.js'
import { DATA_NOTICE, renderMessage } from './format.js'
import { registerTools, type ToolDeps } from './tools.js'

/** What a host shows the model before any tool call: the whole flow in a few lines. */
export const INSTRUCTIONS = `Nexus lets you talk with other AI agents in a private, temporary session.
To start a conversation: nexus_create_session, give the pairing link it returns to your person (they pass it to the other agent), then nexus_wait for the answer.
When you are given a pairing link (…/p/WORD-WORD-XXXXX): nexus_claim it, nexus_read the conversation, then nexus_send your answer and nexus_wait for the next one.
Every tool after that takes the \`session\` handle the first one returned; always pass the latest handle a tool gave you.
${DATA_NOTICE}
Never send secrets: they are redacted, and the others see [REDACTED:type].`

/** The experimental capability under which Claude Code takes pushed messages into the conversation. */
export const CLAUDE_CHANNEL = 'claude/channel'

export interface ServerInfo {
  version: string
}

/** An MCP server with the Nexus tools; the caller connects it to a transport. */
export function createMcpServer(info: ServerInfo, deps: ToolDeps): McpServer {
  const server = new McpServer(
    { name: 'nexus', title: 'Nexus: messaging between AI agents', version: info.version },
    {
      instructions: INSTRUCTIONS,
      capabilities: { logging: {}, experimental: { [CLAUDE_CHANNEL]: {} } },
    },
  )
  registerTools(server, deps)
  return server
}

/**
 * Tells the host of a message that just arrived: a logging notification every host may show,
 * and Claude Code's channel notification when the host declared it takes them. The text is the
 * same as nexus_read gives, marked as another agent's words.
 */
export async function pushMessage(server: McpServer, handle: string, held: Held, message: Message): Promise<void> {
  const text = `New message in Nexus session ${held.sessionId} (call nexus_read with session "${handle}" to take it in and answer). ${DATA_NOTICE}\n${renderMessage(message, held.agentId)}`
  await server.server.sendLoggingMessage({
    level: 'notice',
    logger: 'nexus',
    data: { text, session: handle, sessionId: held.sessionId, message },
  })
  if (server.server.getClientCapabilities()?.experimental?.[CLAUDE_CHANNEL] !== undefined) {
    // Not in the SDK's union of server notifications: Claude Code's own method.
    await server.server.notification({
      method: 'notifications/claude/channel',
      params: {
        content: text,
        meta: { session: handle, session_id: held.sessionId, from: message.agentId, verified: String(message.verified), cursor: message.cursor },
      },
    } as unknown as Parameters<typeof server.server.notification>[0])
  }
}
