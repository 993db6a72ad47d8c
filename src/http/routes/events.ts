import { z } from 'zod'
import { isNexusError, nexusError } from '../../core/errors.js'
import { cursorSchema } from '../../core/inputs.js'
import type { Page } from '../../core/sessions.js'
import { type App, type RouteContext, typed } from '../context.js'
import { errors, sessionParams } from '../schemas.js'
import { drainOrCut } from '../slow-reader.js'
import { endView, messageView } from '../views.js'

/** How long one wait inside the stream lasts before it simply waits again. */
const STREAM_WAIT_MS = 60_000

/** What a stream's reply says of itself, to a GET that gets the stream and to a HEAD alike. */
const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
}

/**
 * Server-sent events: `GET /v1/sessions/:id/events` replays what is newer than `after` (or
 * `Last-Event-ID`, which a reconnecting EventSource sends), then streams each message as it
 * arrives. Every event's id is its cursor, so a reconnect resumes with no loss and no repeat.
 * It is the long-poll loop of the core, kept open: the same rules, one more way in. An ended
 * session's final message comes as any other; after it an `ended` event (who, why, the final
 * cursor) and the stream closes, at once for a reader that already had it.
 */
export function sseRoutes(app: App, { sessions, holds, config }: RouteContext): void {
  typed(app).get('/v1/sessions/:id/events', {
    schema: {
      summary: 'Stream messages as server-sent events',
      params: sessionParams,
      headers: z.looseObject({
        'x-agent-id': z.string().optional(),
        // A header only, never the query: URLs end up in logs, proxies and browser history.
        'x-session-key': z.string().optional().describe('the agent\'s session key, when the server requires it for reads'),
        'last-event-id': z.string().optional().describe('the cursor to resume after'),
      }),
      querystring: z.object({
        after: cursorSchema.optional(),
        agentId: z.string().optional().describe('for EventSource, which cannot set headers'),
      }),
      response: { ...errors(401, 403, 404, 503) },
    },
  }, async (request, reply) => {
    const agentId = request.headers['x-agent-id'] ?? request.query.agentId
    const sessionKey = request.headers['x-session-key']
    const lastEventId = request.headers['last-event-id']
    let after = request.query.after
    if (lastEventId !== undefined && lastEventId !== '') {
      const parsed = cursorSchema.safeParse(lastEventId)
      if (!parsed.success) {
        throw nexusError('invalid_request', 'Last-Event-ID is not a cursor.', { details: [{ path: 'headers.last-event-id', message: 'must be a decimal cursor' }] })
      }
      after = parsed.data
    }

    // Errors before the stream starts (not a member, no session, no room) are ordinary replies.
    const first = await sessions.poll(request.params.id, agentId, { ...(after !== undefined ? { after } : {}), sessionKey })
    // HEAD learns what a GET would get, headers only: it ends here, with no stream and no slot.
    const head = request.method === 'HEAD'
    if (!head) holds.acquire(request.ip)

    reply.hijack()
    const out = reply.raw
    if (head) {
      out.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...STREAM_HEADERS })
      out.end()
      return
    }
    out.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      ...STREAM_HEADERS,
      connection: 'keep-alive',
    })
    out.write('retry: 2000\n\n')

    // A client that left while the first page was read has had its 'close' already.
    let gone = out.destroyed
    /** Ends the wait in progress, if any: the core answers a cancelled poll with nothing, so resolve it here. */
    let stopWaiting: (() => void) | undefined
    // Only onto an empty buffer: a reader that has not taken the last event needs no keep-alive,
    // and a stream's unread bytes stay within one event beyond the socket's buffer.
    const keepAlive = setInterval(() => {
      if (out.writableLength === 0) out.write(': keep-alive\n\n')
    }, config.sseKeepAliveSeconds * 1000)
    out.once('close', () => {
      gone = true
      stopWaiting?.()
    })

    /** The next page after `after`, waited for as a long-poll would; null once the client has gone. */
    const nextPage = (after: number) => new Promise<Page | null>((resolve, reject) => {
      const poll = sessions.longPoll(request.params.id, agentId, { after, sessionKey }, STREAM_WAIT_MS, { answer: resolve, fail: reject })
      stopWaiting = () => {
        poll.cancel()
        resolve(null)
      }
    })

    /**
     * Writes, and waits for the socket to drain when its buffer is full: a slow reader slows only
     * itself, a backlog is replayed at the reader's pace, and a reader that takes nothing for
     * SLOW_READER_SECONDS is cut (its 'close' then ends the loop).
     */
    const write = async (chunk: string) => {
      if (gone) return
      if (!out.write(chunk) && !gone) await drainOrCut(out, config.slowReaderSeconds * 1000)
    }
    const writePage = async (page: Page) => {
      if (page.gap) await write(`event: gap\ndata: ${JSON.stringify({ oldestCursor: String(page.gap.oldestCursor) })}\n\n`)
      for (const message of page.messages) {
        await write(`id: ${message.cursor}\nevent: message\ndata: ${JSON.stringify(messageView(message))}\n\n`)
      }
    }

    /** Once the reader has the final message of an ended session: say so, and the stream is done. */
    const writeEnd = async (page: Page, cursor: number): Promise<boolean> => {
      if (!page.ended || cursor < page.ended.cursor) return false
      await write(`event: ended\ndata: ${JSON.stringify(endView(page.ended))}\n\n`)
      return true
    }

    try {
      await writePage(first)
      let cursor = first.nextCursor
      let ended = await writeEnd(first, cursor)
      while (!ended && !gone && !sessions.closing) {
        const page = await nextPage(cursor)
        if (!page) break
        await writePage(page)
        cursor = page.nextCursor
        ended = await writeEnd(page, cursor)
      }
      if (!ended && sessions.closing && !gone) await write('event: shutdown\ndata: {}\n\n')
    } catch (err) {
      if (!isNexusError(err)) request.log.error({ err }, 'event stream failed')
      const event = isNexusError(err) && err.code === 'session_not_found' ? 'session_expired'
        : isNexusError(err) && err.code === 'agent_not_in_session' ? 'agent_removed'
        : 'error'
      const body = isNexusError(err) ? { error: err.code, message: err.message } : { error: 'internal_error', message: 'The stream failed.' }
      if (!gone) out.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`)
    } finally {
      clearInterval(keepAlive)
      holds.release(request.ip)
      out.end()
    }
  })
}
