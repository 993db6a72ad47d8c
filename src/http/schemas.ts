import { z } from 'zod'
import { cursorText as cursor } from '../core/inputs.js'

/**
 * Zod schemas of the HTTP replies, shared by the routes. Declared for every status a route can
 * answer, so a reply of the wrong shape fails loudly in tests and the OpenAPI document is whole.
 */

const iso = z.string().describe('ISO-8601 UTC time')

/** Headers are read loosely: the schema documents ours and keeps every other header. */
export const agentHeaders = z.looseObject({
  'x-agent-id': z.string().optional().describe('the calling agent'),
})
export const agentKeyHeaders = z.looseObject({
  'x-agent-id': z.string().optional().describe('the calling agent'),
  'x-session-key': z.string().optional().describe('the agent\'s session key'),
})

export const sessionParams = z.object({ id: z.string().max(256) })
export const codeParams = z.object({ code: z.string().max(256) })
export const leaveParams = z.object({ id: z.string().max(256), agentId: z.string().max(256) })

export const errorBody = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
})

export const sessionCreated = z.object({
  sessionId: z.string(),
  ttl: z.number().int(),
  maxAgents: z.number().int(),
  state: z.literal('active'),
  expiresAt: iso,
  createdAt: iso,
  creatorAgentId: z.string().optional(),
  sessionKey: z.string().optional(),
})

/** How a session was ended (additive: present only once it was). */
export const sessionEnd = z.object({
  by: z.string().describe('the member who ended it'),
  reason: z.string(),
  cursor: cursor.describe('the final message: nothing comes after it'),
  at: iso,
})

export const sessionStatus = z.object({
  sessionId: z.string(),
  state: z.literal('active'),
  agents: z.array(z.string()),
  agentCount: z.number().int(),
  ttl: z.number().int(),
  maxAgents: z.number().int(),
  creatorAgentId: z.string().nullable(),
  createdAt: iso,
  expiresAt: iso,
  ended: sessionEnd.optional(),
})

export const joined = z.object({
  status: z.literal('joined'),
  sessionId: z.string(),
  agentId: z.string(),
  agentsOnline: z.number().int(),
  sessionKey: z.string(),
})

export const sent = z.object({
  id: z.string(),
  cursor,
  expiresAt: iso,
  verified: z.boolean(),
  redactions: z.array(z.string()),
})

/**
 * A message's `json` as replies carry it: any value, written by JSON.stringify in one linear
 * pass. As `z.json()` its JSON Schema is a recursive anyOf, which fast-json-stringify resolves
 * by validating the subtree at every level: depth² work per message, and seconds per page for
 * deep values (the core bounds the depth too: core/json-bounds.ts).
 */
const anyJson = z.unknown().describe('any JSON value')

export const message = z.object({
  id: z.string(),
  cursor,
  agentId: z.string(),
  text: z.string().optional(),
  json: anyJson.optional(),
  verified: z.boolean(),
  createdAt: iso,
  redactions: z.array(z.string()),
})

export const member = z.object({ agentId: z.string(), joinedAt: iso, lastSeenAt: iso })

export const page = z.object({
  messages: z.array(message),
  nextCursor: cursor,
  hasMore: z.boolean(),
  gap: z.boolean().optional(),
  oldestCursor: cursor.optional(),
  members: z.array(member).optional(),
  ended: sessionEnd.optional(),
})

export const ended = z.object({
  sessionId: z.string(),
  ended: sessionEnd,
  expiresAt: iso,
})

export const renewed = z.object({
  sessionId: z.string(),
  state: z.literal('active'),
  ttl: z.number().int(),
  expiresAt: iso,
  agents: z.array(z.string()),
})

export const left = z.object({ ok: z.literal(true), sessionId: z.string(), agentId: z.string(), message: z.string() })

export const paired = z.object({ code: z.string(), url: z.string(), expiresAt: iso })

export const claimed = z.object({
  sessionId: z.string(),
  status: z.literal('claimed'),
  agentId: z.string(),
  sessionKey: z.string(),
  agentsOnline: z.number().int(),
})

export const codeStatus = z.object({
  code: z.string(),
  state: z.enum(['pending', 'claimed', 'expired']),
  expiresAt: iso,
})

export const health = z.object({
  status: z.enum(['ok', 'unavailable']),
  version: z.string(),
  uptime: z.number(),
  store: z.string(),
  storeReachable: z.boolean(),
  capabilities: z.object({
    messageFormat: z.array(z.string()),
    longPoll: z.boolean(),
    serverSentEvents: z.boolean(),
    pairing: z.boolean(),
    redaction: z.boolean(),
    webSocketHub: z.boolean(),
  }),
})

export const stats = z.object({
  activeSessions: z.number().int(),
  totalAgents: z.number().int(),
  totalMessages: z.number().int(),
  waitingRequests: z.number().int().describe('long-polls and event streams held open on this instance'),
  uptime: z.number(),
})

/** The error replies a route may give, by status, for its schema (503: the store unreachable, on Redis). */
export function errors(...statuses: number[]): Record<number, typeof errorBody> {
  const all = [400, 429, 500, 503, ...statuses]
  return Object.fromEntries(all.map((status) => [status, errorBody]))
}
