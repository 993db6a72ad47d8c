import type { Page } from '../core/sessions.js'
import type { MemberRecord, SessionEnd, SessionRecord, StoredMessage } from '../store/store.js'

/** How the core's records look on the wire: ISO times and cursors as decimal strings. */

/** The second `isoSecond` formats, as its ISO text up to and including the dot before the milliseconds. */
let cachedSecond = Number.NaN
let isoSecond = ''

/**
 * `new Date(epochMs).toISOString()`, at a fraction of its cost for times that share a second
 * with the previous call, which is most of them: a page of messages sent close together, the
 * expiry of every send within a second. Formatting a Date was the largest part of building a
 * page of 100 messages. Only the milliseconds are written by hand; the rest is Date's own.
 */
export function iso(epochMs: number): string {
  if (!Number.isInteger(epochMs)) return new Date(epochMs).toISOString()
  const second = Math.floor(epochMs / 1000)
  if (second !== cachedSecond) {
    // Sliced from Date's own text, so years outside 0000-9999 keep their sign and width.
    isoSecond = new Date(second * 1000).toISOString().slice(0, -4)
    cachedSecond = second
  }
  const ms = epochMs - second * 1000
  return isoSecond + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z'
}

export function messageView(m: StoredMessage) {
  return {
    id: m.id,
    cursor: String(m.cursor),
    agentId: m.agentId,
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.json !== undefined ? { json: m.json } : {}),
    verified: m.verified,
    createdAt: iso(m.createdAt),
    redactions: m.redactions,
  }
}

export function memberView(m: MemberRecord) {
  return { agentId: m.agentId, joinedAt: iso(m.joinedAt), lastSeenAt: iso(m.lastSeenAt) }
}

export function pageView(p: Page) {
  return {
    messages: p.messages.map(messageView),
    nextCursor: String(p.nextCursor),
    hasMore: p.hasMore,
    ...(p.gap ? { gap: true, oldestCursor: String(p.gap.oldestCursor) } : {}),
    ...(p.members ? { members: p.members.map(memberView) } : {}),
    ...(p.ended ? { ended: endView(p.ended) } : {}),
  }
}

export function endView(end: SessionEnd) {
  return { by: end.by, reason: end.reason, cursor: String(end.cursor), at: iso(end.at) }
}

export function sessionStatusView(session: SessionRecord, members: MemberRecord[]) {
  return {
    sessionId: session.id,
    state: 'active' as const,
    agents: members.map((m) => m.agentId),
    agentCount: members.length,
    ttl: session.ttlSeconds,
    maxAgents: session.maxAgents,
    creatorAgentId: session.creatorAgentId,
    createdAt: iso(session.createdAt),
    expiresAt: iso(session.expiresAt),
    ...(session.ended ? { ended: endView(session.ended) } : {}),
  }
}
