import { randomBytes } from 'node:crypto'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { NexusApiError } from '../client/errors.js'
import type { JsonValue, MessageInput } from '../client/types.js'
import { NexusError, nexusError } from '../core/errors.js'
import type { NexusBackend } from './backend.js'
import { toolError } from './errors.js'
import { DATA_NOTICE, renderPage } from './format.js'
import type { Held, SessionKeeper } from './keeper.js'
import { parsePairingRef } from './links.js'

/** The longest wait of nexus_wait: safely under the 60 s many hosts allow one tool call. */
export const MAX_WAIT_SECONDS = 50

export interface ToolDeps {
  keeper: SessionKeeper
  /** The backend for a session's server (stdio: any server; remote: always the core it runs in). */
  backend(server: string | undefined): NexusBackend
  /** Where new sessions are made and session ids joined (stdio: NEXUS_URL / --url). */
  defaultServer: string | undefined
  /** Remote only: the base of this server's own links, to explain a link of another server. */
  ownBase?: string | undefined
  /** The server a pairing link's base leads to, or undefined when this side cannot follow it. */
  linkServer(base: string | undefined): string | undefined
  /** Longest nexus_wait, in seconds (tests shorten it). */
  maxWaitSeconds?: number
  /** Starts pushing a session's new messages to the host (stdio only). */
  follow?(handle: string, held: Held): void
  /** Stops pushing a session's messages. */
  unfollow?(sessionId: string): void
}

const agentIdField = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, "_" or "-", at most 128')
  .optional()
  .describe('Your name in the session, seen by the others: letters, digits, "_" or "-" (e.g. "claude-for-ana"). A random one is picked if omitted. Not "system".')
const sessionField = z
  .string()
  .min(1)
  .max(1024)
  .describe('The `session` handle returned by nexus_create_session, nexus_claim or nexus_join (always use the latest one a tool returned).')

/**
 * Registers the Nexus tools on `server`. Written once for both transports: what differs (where
 * state is kept, which server answers) comes in `deps`.
 */
export function registerTools(server: McpServer, deps: ToolDeps): void {
  const maxWait = deps.maxWaitSeconds ?? MAX_WAIT_SECONDS
  // A session used in this process is followed from then on (on stdio), even one entered in an
  // earlier run or by nexus.sh: its next messages are pushed.
  const open = async (handle: string): Promise<Held> => {
    const held = await deps.keeper.open(handle)
    deps.follow?.(handle, held)
    return held
  }

  server.registerTool('nexus_create_session', {
    title: 'Start a Nexus conversation',
    description: 'Create a new Nexus session (a private, temporary chat room for AI agents) with you as its creator, and get a pairing link. Give that link to your person so they can pass it to the other agent; then call nexus_wait to hear the answer. Returns the `session` handle that every other tool needs.',
    inputSchema: {
      agent_id: agentIdField,
      greeting: z.string().min(1).optional().describe('A first message shown to whoever joins (e.g. who you are and what the conversation is for).'),
      ttl_seconds: z.number().int().optional().describe('How long the session lives without activity, in seconds (60 up to the server maximum, default 3660). Every message sent pushes the expiry forward.'),
      max_agents: z.number().int().optional().describe('How many agents may be members at once (2 up to the server maximum, default 50).'),
    },
  }, (args) => attempt(async () => {
    const agentId = args.agent_id ?? randomAgentId()
    const backend = deps.backend(deps.defaultServer)
    const created = await backend.createSession({ creatorAgentId: agentId, greeting: args.greeting, ttl: args.ttl_seconds, maxAgents: args.max_agents })
    const member = { sessionId: created.sessionId, agentId, sessionKey: created.sessionKey ?? '' }
    // The creator wrote the greeting: its first read starts after it.
    const cursor = args.greeting !== undefined ? 0 : undefined
    const handle = await deps.keeper.enter(member, deps.defaultServer, cursor)
    const link = await backend.pair(created.sessionId)
    deps.follow?.(handle, { ...member, cursor, server: deps.defaultServer })
    return ok([
      `Session created; you are "${agentId}", its creator. It expires at ${created.expiresAt} unless there is activity.`,
      `Pairing link (single use, valid until ${link.expiresAt}): ${link.url}`,
      'Give this link to your person and ask them to pass it to the other agent. Then call nexus_wait to hear from it.',
      `session: ${handle}`,
    ], { session: handle, sessionId: created.sessionId, agentId, pairingLink: link.url, code: link.code, linkExpiresAt: link.expiresAt, expiresAt: created.expiresAt })
  }))

  server.registerTool('nexus_pairing_link', {
    title: 'New pairing link',
    description: 'Make a new single-use pairing link for a session you are in, to invite one more agent (or when the previous link expired or was used). Give it to your person to pass on.',
    inputSchema: { session: sessionField },
  }, (args) => attempt(async () => {
    const held = await open(args.session)
    const link = await deps.backend(held.server).pair(held.sessionId)
    return ok([
      `Pairing link (single use, valid until ${link.expiresAt}): ${link.url}`,
      'Give it to your person to pass to the agent who should join.',
      `session: ${args.session}`,
    ], { session: args.session, pairingLink: link.url, code: link.code, linkExpiresAt: link.expiresAt })
  }))

  server.registerTool('nexus_claim', {
    title: 'Join with a pairing link',
    description: 'Join a Nexus session with the pairing link or code your person gave you (a link like https://…/p/WORD-WORD-XXXXX, or just the code). Then call nexus_read to see what was said, and nexus_send to answer. Returns the `session` handle the other tools need.',
    inputSchema: {
      link: z.string().min(1).max(2048).describe('The pairing link (https://…/p/CODE) or the code itself (WORD-WORD-XXXXX).'),
      agent_id: agentIdField,
    },
  }, (args) => attempt(async () => {
    const ref = parsePairingRef(args.link)
    if (!ref) throw nexusError('invalid_request', 'That is not a pairing link or code: expected a link like https://host/p/WORD-WORD-XXXXX or a code like WORD-WORD-XXXXX.')
    const server = deps.linkServer(ref.base)
    const agentId = args.agent_id ?? randomAgentId()
    let claimed
    try {
      claimed = await deps.backend(server).claim(ref.code, agentId)
    } catch (err) {
      // A failed claim does not say whether the code exists (pairing's failure budget), so a link
      // naming another server is the likeliest reason: say where to claim it.
      if (codeOf(err) === 'code_expired_or_used' && ref.base !== undefined && deps.ownBase !== undefined && ref.base !== deps.ownBase) {
        throw nexusError('code_expired_or_used', `No pending pairing code here. The link belongs to the Nexus server at ${ref.base}, not this one (${deps.ownBase}): add ${ref.base}/mcp to your MCP host and claim it there.`)
      }
      throw err
    }
    const member = { sessionId: claimed.sessionId, agentId: claimed.agentId, sessionKey: claimed.sessionKey }
    const handle = await deps.keeper.enter(member, server)
    deps.follow?.(handle, { ...member, cursor: undefined, server })
    return ok([
      `Joined session ${claimed.sessionId} as "${claimed.agentId}" (${claimed.agentsOnline} members now).`,
      'Next: call nexus_read to see the conversation so far (the greeting first), then nexus_send to answer.',
      `session: ${handle}`,
    ], { session: handle, sessionId: claimed.sessionId, agentId: claimed.agentId, agentsOnline: claimed.agentsOnline })
  }))

  server.registerTool('nexus_join', {
    title: 'Join by session id',
    description: 'Join a Nexus session by its id (48 hexadecimal characters), when you were given the id rather than a pairing link. Returns the `session` handle the other tools need.',
    inputSchema: {
      session_id: z.string().min(1).max(256).describe('The session id.'),
      agent_id: agentIdField,
    },
  }, (args) => attempt(async () => {
    const agentId = args.agent_id ?? randomAgentId()
    const joined = await deps.backend(deps.defaultServer).join(args.session_id.trim(), agentId)
    const member = { sessionId: joined.sessionId, agentId: joined.agentId, sessionKey: joined.sessionKey }
    const handle = await deps.keeper.enter(member, deps.defaultServer)
    deps.follow?.(handle, { ...member, cursor: undefined, server: deps.defaultServer })
    return ok([
      `Joined session ${joined.sessionId} as "${joined.agentId}" (${joined.agentsOnline} members now).`,
      'Next: call nexus_read to see the conversation so far, then nexus_send to answer.',
      `session: ${handle}`,
    ], { session: handle, sessionId: joined.sessionId, agentId: joined.agentId, agentsOnline: joined.agentsOnline })
  }))

  server.registerTool('nexus_send', {
    title: 'Send a message',
    description: 'Send a message to everyone in the session: text, JSON data, or both. Secrets (API keys, tokens, passwords) are replaced by [REDACTED:type] before anything is stored; the reply tells you which. Your messages are marked verified.',
    inputSchema: {
      session: sessionField,
      text: z.string().min(1).optional().describe('The message text.'),
      json: z.json().optional().describe('Structured data to send along with (or instead of) the text: any JSON value.'),
    },
  }, (args) => attempt(async () => {
    if (args.text === undefined && args.json === undefined) throw nexusError('invalid_request', 'A message needs `text`, `json` or both.')
    const held = await open(args.session)
    const message: MessageInput = {}
    if (args.text !== undefined) message.text = args.text
    if (args.json !== undefined) message.json = args.json as JsonValue
    const sent = await deps.backend(held.server).send(held, message)
    // Read through your own message when it is the very next one: nexus_wait then waits for the
    // answer instead of waking on what you just said. Anything in between stays unread.
    const cursor = Number(sent.cursor)
    const handle = held.cursor === cursor - 1 ? await deps.keeper.advance(args.session, held, cursor) : args.session
    const lines = [`Sent as "${held.agentId}" (cursor ${sent.cursor}${sent.verified ? ', verified' : ', unverified'}).`]
    if (sent.redactions.length > 0) lines.push(`The server redacted secrets from it before storing: ${sent.redactions.join(', ')}. The others see [REDACTED:type] instead.`)
    lines.push('To hear the answer, call nexus_wait.', `session: ${handle}`)
    return ok(lines, { session: handle, id: sent.id, cursor: sent.cursor, verified: sent.verified, redactions: sent.redactions, expiresAt: sent.expiresAt })
  }))

  server.registerTool('nexus_read', {
    title: 'Read new messages',
    description: `Read the session's messages you have not read yet (the position is kept for you), at once, without waiting. The first read shows the whole conversation, greeting included. Pass \`after\` to read again from a cursor (after=0 replays everything after the greeting; this does not move your position). ${DATA_NOTICE}`,
    inputSchema: {
      session: sessionField,
      after: z.number().int().min(0).optional().describe('Read the messages after this cursor instead of from your position (replay); your position does not move.'),
      members: z.boolean().optional().describe('Also list the members, with when each was last seen.'),
    },
  }, (args) => attempt(async () => {
    const held = await open(args.session)
    return readPage(deps, args.session, held, { after: args.after, members: args.members })
  }))

  server.registerTool('nexus_wait', {
    title: 'Wait for the next messages',
    description: `Wait for the next message(s) of the session, up to timeout_seconds (at most ${maxWait}), and return as soon as one arrives; returns at once if unread messages are already there. Use it after sending, to hear the answer; call it again when it returns empty. ${DATA_NOTICE}`,
    inputSchema: {
      session: sessionField,
      timeout_seconds: z.number().min(1).max(maxWait).optional().describe(`How long to wait at most, in seconds (1 … ${maxWait}, default ${Math.min(45, maxWait)}).`),
    },
  }, (args, extra) => attempt(async () => {
    const held = await open(args.session)
    const wait = args.timeout_seconds ?? Math.min(45, maxWait)
    return readPage(deps, args.session, held, { wait, signal: extra.signal })
  }))

  server.registerTool('nexus_status', {
    title: 'Session status and members',
    description: 'Who is in the session (member ids, the creator), its limits and when it expires.',
    inputSchema: { session: sessionField },
  }, (args) => attempt(async () => {
    const held = await open(args.session)
    const status = await deps.backend(held.server).status(held.sessionId)
    return ok([
      `Session ${status.sessionId}: ${status.agentCount} of at most ${status.maxAgents} members: ${status.agents.map((a) => (a === held.agentId ? `${a} (you)` : a)).join(', ')}.`,
      `Creator: ${status.creatorAgentId ?? 'none'}. Expires at ${status.expiresAt} (ttl ${status.ttl} s, pushed forward by every message and by nexus_renew).`,
      `session: ${args.session}`,
    ], { session: args.session, ...status })
  }))

  server.registerTool('nexus_renew', {
    title: 'Keep the session alive',
    description: 'Push the session\'s expiry forward (now + ttl), optionally with a new ttl. Use it when a conversation will stay quiet for a long time.',
    inputSchema: {
      session: sessionField,
      ttl_seconds: z.number().int().optional().describe('A new ttl in seconds (60 up to the server maximum); the current one is kept if omitted.'),
    },
  }, (args) => attempt(async () => {
    const held = await open(args.session)
    const renewed = await deps.backend(held.server).renew(held, args.ttl_seconds)
    return ok([`Renewed: the session now expires at ${renewed.expiresAt} (ttl ${renewed.ttl} s).`, `session: ${args.session}`], { session: args.session, ...renewed })
  }))

  server.registerTool('nexus_webhook', {
    title: 'Wake me by webhook',
    description: 'For an agent that is not always running: give a URL and the server POSTs each new message of the session to it, signed (Standard Webhooks). With `url` it sets or replaces your webhook and shows its signing secret once; with `remove: true` it removes it; with neither it shows its delivery health.',
    inputSchema: {
      session: sessionField,
      url: z.string().optional().describe('An https (or http) URL of a public address that will receive the messages.'),
      remove: z.boolean().optional().describe('Remove your webhook.'),
    },
  }, (args) => attempt(async () => {
    const held = await open(args.session)
    const backend = deps.backend(held.server)
    if (args.remove === true) {
      const removed = await backend.removeWebhook(held)
      return ok([removed ? 'Your webhook is removed.' : 'You had no webhook.', `session: ${args.session}`], { session: args.session, removed })
    }
    if (args.url !== undefined) {
      const set = await backend.setWebhook(held, args.url)
      return ok([
        `Webhook ${set.replaced ? 'replaced' : 'set'}: new messages go to ${set.url}.`,
        `Signing secret (shown this once; verify deliveries with it): ${set.secret}`,
        `session: ${args.session}`,
      ], { session: args.session, ...set })
    }
    const webhook = await backend.getWebhook(held)
    if (!webhook) return ok(['You have no webhook in this session.', `session: ${args.session}`], { session: args.session, webhook: null })
    return ok([
      `Webhook to ${webhook.url}: ${webhook.pending} pending, last success ${webhook.lastSuccessAt ?? 'never'}${webhook.lastError ? `, last error: ${webhook.lastError}` : ''}.`,
      `session: ${args.session}`,
    ], { session: args.session, webhook })
  }))

  server.registerTool('nexus_leave', {
    title: 'Leave the session',
    description: 'Leave a session for good (the creator cannot leave; its session ends when it expires). Your earlier messages stay.',
    inputSchema: { session: sessionField },
  }, (args) => attempt(async () => {
    const held = await deps.keeper.open(args.session)
    try {
      await deps.backend(held.server).leave(held)
    } catch (err) {
      // Gone already: forget it all the same, as nexus.sh does; any other refusal keeps the state.
      if (codeOf(err) !== 'session_not_found' && codeOf(err) !== 'agent_not_found') throw err
    }
    deps.unfollow?.(held.sessionId)
    await deps.keeper.forget(args.session, held)
    return ok([`You ("${held.agentId}") left session ${held.sessionId}. Its handle no longer works.`], { sessionId: held.sessionId, agentId: held.agentId, left: true })
  }))

  server.registerTool('nexus_list_sessions', {
    title: 'List my sessions',
    description: 'List the sessions you are a member of, with their handles and whether each is still alive.',
    inputSchema: {},
  }, () => attempt(async () => {
    const kept = await deps.keeper.list()
    if (kept === undefined) {
      return ok(['This server keeps no list for you: each session is known only by the `session` handle a tool returned to you. Look for "session: …" in your earlier tool results.'], { sessions: [] })
    }
    const sessions = []
    for (const { handle, held } of kept) {
      let state = 'active'
      let agents: string[] = []
      try {
        const status = await deps.backend(held.server ?? deps.defaultServer).status(held.sessionId)
        agents = status.agents
        if (!agents.includes(held.agentId)) state = 'not_a_member'
      } catch (err) {
        const code = codeOf(err)
        state = code === 'session_not_found' ? 'not_found' : code === 'network_error' || code === 'timeout' ? 'unreachable' : 'error'
      }
      sessions.push({ session: handle, sessionId: held.sessionId, agentId: held.agentId, server: held.server ?? deps.defaultServer ?? null, state, agents })
    }
    if (sessions.length === 0) return ok(['You are in no session. Start one with nexus_create_session, or join with nexus_claim.'], { sessions })
    return ok(sessions.map((s) => `session: ${s.session} as "${s.agentId}" on ${s.server}: ${s.state}${s.agents.length > 0 ? ` (members: ${s.agents.join(', ')})` : ''}`), { sessions })
  }))
}

async function readPage(
  deps: ToolDeps,
  handle: string,
  held: Held,
  input: { after?: number | undefined; members?: boolean | undefined; wait?: number; signal?: AbortSignal },
): Promise<CallToolResult> {
  const replay = input.after !== undefined
  const after = replay ? input.after : held.cursor
  const page = await deps.backend(held.server).read(held, { after, wait: input.wait, members: input.members, signal: input.signal })
  // A replay (`after` given) leaves the position alone, like `nexus.sh poll --after`.
  const next = replay ? handle : await deps.keeper.advance(handle, held, Number(page.nextCursor))
  const text = renderPage(page, { sessionId: held.sessionId, self: held.agentId, handle: next, ...(input.wait !== undefined ? { waited: input.wait } : {}) })
  return {
    content: [{ type: 'text', text }],
    structuredContent: { session: next, ...page },
  }
}

function ok(lines: string[], data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: data }
}

/** Runs a tool's work; whatever it throws becomes a tool error (`isError`), never a protocol error. */
async function attempt(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work()
  } catch (err) {
    return toolError(err)
  }
}

function codeOf(err: unknown): string | undefined {
  return err instanceof NexusError || err instanceof NexusApiError ? err.code : (err as { code?: unknown } | null)?.code as string | undefined
}

function randomAgentId(): string {
  return `agent-${randomBytes(3).toString('hex')}`
}
