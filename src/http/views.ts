import type { Page } from '../core/sessions.js'
import type { MemberRecord, SessionEnd, SessionRecord, StoredMessage } from '../store/store.js'

/** How the core's records look on the wire: ISO times and cursors as decimal strings. */

/** Epoch milliseconds as ISO 8601 text, as every reply writes times. */
export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString()
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
