import { z } from 'zod'
import { CURSOR_PATTERN, cursorValue } from './cursor.js'
import { type CoreLimits, MAX_PAGE, MAX_WAIT_SECONDS, MIN_AGENTS, MIN_TTL_SECONDS } from './limits.js'

/**
 * The shapes and ranges of what callers hand the core. Every way in (HTTP routes, WebSocket
 * frames) parses its input with these same schemas, so a range is written once. Out-of-range
 * values are refused, never clamped.
 */

/** A cursor on the wire, parsed to its number by the one cursor rule (cursor.ts). */
export const cursorSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  // One step, not a chain of pipes: `after` is parsed on every poll.
  const cursor = cursorValue(value)
  if (cursor !== undefined) return cursor
  ctx.issues.push({ code: 'custom', input: value, message: 'must be a decimal string of a non-negative integer' })
  return z.NEVER
})

/** A cursor as replies write it (the same rule; a pattern, so the OpenAPI document shows it). */
export const cursorText = z.string().regex(CURSOR_PATTERN).describe('decimal cursor')

export function ttlSchema(limits: CoreLimits) {
  return z.number().int().min(MIN_TTL_SECONDS).max(limits.maxTtlSeconds)
}

export function createSessionSchema(limits: CoreLimits) {
  return z.object({
    ttl: ttlSchema(limits).optional(),
    maxAgents: z.number().int().min(MIN_AGENTS).max(limits.maxAgents).optional(),
    greeting: z.string().min(1).optional(),
    creatorAgentId: z.string().optional(),
  })
}
export type CreateSessionInput = z.infer<ReturnType<typeof createSessionSchema>>

export function renewSchema(limits: CoreLimits) {
  return z.object({ ttl: ttlSchema(limits).optional() })
}

export const sendSchema = z
  .object({
    text: z.string().min(1).optional(),
    json: z.json().optional(),
  })
  .refine((body) => body.text !== undefined || body.json !== undefined, {
    message: 'a message needs `text`, `json` or both',
  })
export type SendInput = z.infer<typeof sendSchema>

/** Why a session is ended: a short sentence for the other members (the final message carries it). */
export const END_REASON_MAX = 1000
export const endSchema = z.object({ reason: z.string().max(END_REASON_MAX).optional() })
export type EndInput = z.infer<typeof endSchema>

export const pollSchema = z.object({
  after: cursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
  members: z
    .enum(['true', 'false', '1', '0'])
    .transform((value) => value === 'true' || value === '1')
    .optional(),
})
export type PollInput = z.infer<typeof pollSchema>
