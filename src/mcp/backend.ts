import type { NexusClient } from '../client/client.js'
import type {
  Claimed,
  CreatedSession,
  Joined,
  Left,
  MessageInput,
  MessagePage,
  PairingCode,
  Renewed,
  SentMessage,
  SessionStatus,
  WebhookHealth,
  WebhookSet,
} from '../client/types.js'

/** What a tool acts as in a session: who, and the key that makes its messages verified. */
export interface Membership {
  sessionId: string
  agentId: string
  sessionKey: string
}

export interface CreateInput {
  creatorAgentId: string
  greeting?: string | undefined
  ttl?: number | undefined
  maxAgents?: number | undefined
}

export interface ReadInput {
  after?: number | undefined
  /** Seconds to hold the read when nothing is newer (long-poll). */
  wait?: number | undefined
  members?: boolean | undefined
  signal?: AbortSignal | undefined
}

/**
 * The operations the tools need, in the wire shapes of references/api.md. The tools are written
 * once against this; the stdio server gives them a NexusClient (over HTTP, to any server), the
 * /mcp route gives them the core of the server it runs in. Every call names its agent and key:
 * nothing is remembered here, so the remote side stays stateless.
 */
export interface NexusBackend {
  createSession(input: CreateInput): Promise<CreatedSession>
  status(sessionId: string): Promise<SessionStatus>
  join(sessionId: string, agentId: string): Promise<Joined>
  claim(code: string, agentId: string): Promise<Claimed>
  pair(sessionId: string): Promise<PairingCode>
  send(member: Membership, message: MessageInput): Promise<SentMessage>
  read(member: Membership, input: ReadInput): Promise<MessagePage>
  renew(member: Membership, ttl: number | undefined): Promise<Renewed>
  leave(member: Membership): Promise<Left>
  setWebhook(member: Membership, url: string): Promise<WebhookSet>
  getWebhook(member: Membership): Promise<WebhookHealth | null>
  removeWebhook(member: Membership): Promise<boolean>
}

/** The backend of the stdio server: a NexusClient, every call with its agent and key spelled out. */
export function clientBackend(client: NexusClient): NexusBackend {
  return {
    createSession: (input) => client.createSession(definedOnly(input)),
    status: (sessionId) => client.status(sessionId),
    join: (sessionId, agentId) => client.join(sessionId, agentId),
    claim: (code, agentId) => client.claim(code, agentId),
    pair: (sessionId) => client.pair(sessionId),
    send: (m, message) => client.send(m.sessionId, message, { agentId: m.agentId, sessionKey: m.sessionKey }),
    read: (m, input) => client.poll(m.sessionId, definedOnly({
      agentId: m.agentId,
      after: input.after,
      wait: input.wait,
      members: input.members,
      signal: input.signal,
    })),
    renew: (m, ttl) => client.renew(m.sessionId, definedOnly({ agentId: m.agentId, ttl })),
    leave: (m) => client.leave(m.sessionId, { agentId: m.agentId, sessionKey: m.sessionKey }),
    setWebhook: (m, url) => client.setWebhook(m.sessionId, url, { agentId: m.agentId, sessionKey: m.sessionKey }),
    getWebhook: (m) => client.getWebhook(m.sessionId, { agentId: m.agentId, sessionKey: m.sessionKey }),
    removeWebhook: (m) => client.removeWebhook(m.sessionId, { agentId: m.agentId, sessionKey: m.sessionKey }),
  }
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
