import { createHash } from 'node:crypto'
import { Webhook } from 'standardwebhooks'

/**
 * Signing by the Standard Webhooks conventions, with its reference library: `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`), so a receiver verifies with any Standard Webhooks library.
 */
export function signedHeaders(secret: string, id: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  }
}

/**
 * A delivery's id: the same for the same batch (a retry of it carries the id again, so a
 * receiver can drop a duplicate), a new one once the batch grows or moves on.
 */
export function deliveryId(sessionId: string, agentId: string, fromCursor: number, toCursor: number): string {
  const digest = createHash('sha256').update(`${sessionId}\n${agentId}\n${fromCursor}\n${toCursor}`).digest('base64url')
  return `msg_${digest.slice(0, 27)}`
}
