import { cursorValue } from '../core/cursor.js'
import { sleep } from './backoff.js'
import { NexusApiError, NexusTransportError } from './errors.js'
import { EventStreamParser } from './event-stream.js'
import type { Http } from './http.js'
import { isRetryable } from './retry.js'
import type { Message, MessagePage } from './types.js'

/** How `messages()` listens: long-poll (`wait=30` in a loop) or one server-sent event stream. */
export type MessageTransport = 'long-poll' | 'sse'

export interface MessagesOptions {
  /** Exclusive cursor to start after; absent reads from the very start (greeting included). */
  after?: string | number
  /** The listening agent (a member); defaults as for `poll`. */
  agentId?: string
  /** `long-poll` (default) or `sse`. */
  transport?: MessageTransport
  /** Aborting it ends the iteration quietly (the loop just finishes) and drops the connection. */
  signal?: AbortSignal
  /**
   * Called when messages after the cursor were dropped by the server (its per-session cap)
   * before they could be read; `oldestCursor` is the oldest one it still holds.
   */
  onGap?: (oldestCursor: string) => void
  /** Seconds each long-poll is held: more than 0, at most 60; default 30. */
  wait?: number
  /**
   * Reconnections tried in a row, after failures, before the iterator gives up and throws the
   * last error; default Infinity (keep trying, with capped backoff, until aborted).
   */
  maxReconnects?: number
}

/** What the iterator needs from its client. */
export interface StreamContext {
  http: Http
  sessionId: string
  agentId: string
  timeoutMs: number
  sseIdleTimeoutMs: number
}

/**
 * `client.messages()`: every message of a session once, in cursor order, across dropped
 * connections and server restarts. It remembers the last cursor it yielded, asks the server
 * only for what comes after it, and skips anything not newer, so a replay after a reconnect can
 * neither lose nor repeat a message.
 *
 * It ends quietly when `signal` aborts or the consumer stops (`break`, `return()`), aborting any
 * request in flight, and once it has yielded the final message of an ended session; it throws a NexusApiError `session_not_found` when the session expires and
 * `agent_not_in_session` when the agent leaves or is removed.
 */
export class MessageStream implements AsyncIterableIterator<Message> {
  readonly #context: StreamContext
  readonly #options: MessagesOptions
  readonly #controller = new AbortController()
  readonly #generator: AsyncGenerator<Message, void, undefined>
  readonly #detach: () => void
  #last: number

  constructor(context: StreamContext, options: MessagesOptions = {}) {
    this.#context = context
    this.#options = options
    this.#last = options.after === undefined ? -1 : toCursor(options.after)
    const wait = options.wait ?? 30
    if (!(wait > 0 && wait <= 60)) throw new TypeError(`wait must be more than 0 and at most 60 seconds, not ${wait}`)
    const outer = options.signal
    const abort = () => this.#controller.abort(outer?.reason)
    if (outer?.aborted) abort()
    else outer?.addEventListener('abort', abort, { once: true })
    this.#detach = () => outer?.removeEventListener('abort', abort)
    const signal = this.#controller.signal
    this.#generator = options.transport === 'sse' ? this.#sse(signal) : this.#longPoll(signal)
  }

  /** The cursor of the last message yielded (or the `after` it started from); undefined before any. */
  get cursor(): string | undefined {
    return this.#last < 0 ? undefined : String(this.#last)
  }

  /** The next message; `done` once the iteration has ended. */
  next(): Promise<IteratorResult<Message, void>> {
    return this.#generator.next()
  }

  /** Stops the iteration at once, aborting the request or stream in flight. */
  return(): Promise<IteratorResult<Message, void>> {
    this.#controller.abort()
    this.#detach()
    return this.#generator.return(undefined)
  }

  /** Stops the iteration like `return()`, then rejects with `err`. */
  async throw(err?: unknown): Promise<IteratorResult<Message, void>> {
    await this.return()
    throw err
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async *#longPoll(signal: AbortSignal): AsyncGenerator<Message, void, undefined> {
    const { http, sessionId, agentId, timeoutMs } = this.#context
    const wait = this.#options.wait ?? 30
    let failures = 0
    try {
      while (!signal.aborted) {
        let page: MessagePage
        try {
          page = await http.json<MessagePage>({
            method: 'GET',
            path: `/v1/sessions/${encodeURIComponent(sessionId)}/messages`,
            query: { after: this.cursor, wait },
            headers: { 'x-agent-id': agentId },
            signal,
            timeoutMs: wait * 1000 + timeoutMs,
            maxRetries: 0,
          })
        } catch (err) {
          if (signal.aborted) return
          await this.#pause(err, failures++, signal)
          continue
        }
        failures = 0
        if (page.gap && page.oldestCursor !== undefined) this.#options.onGap?.(page.oldestCursor)
        for (const message of page.messages) {
          if (this.#accept(message)) yield message
        }
        // The session was ended and its final message is in hand: nothing more will come.
        if (page.ended && this.#last >= toCursor(page.ended.cursor)) return
      }
    } finally {
      this.#detach()
    }
  }

  async *#sse(signal: AbortSignal): AsyncGenerator<Message, void, undefined> {
    const { http, sessionId, agentId, timeoutMs, sseIdleTimeoutMs } = this.#context
    let failures = 0
    try {
      while (!signal.aborted) {
        // One controller per connection, so a finished or abandoned stream is always torn down.
        const connection = new AbortController()
        const drop = () => connection.abort()
        signal.addEventListener('abort', drop, { once: true })
        let ending: unknown
        let callbackFailure: { err: unknown } | undefined
        try {
          const response = await http.stream({
            method: 'GET',
            path: `/v1/sessions/${encodeURIComponent(sessionId)}/events`,
            query: { after: this.cursor },
            headers: { 'x-agent-id': agentId, accept: 'text/event-stream' },
            signal: connection.signal,
            timeoutMs,
          }, sseIdleTimeoutMs)
          const type = String(response.headers['content-type'] ?? '')
          if (!type.startsWith('text/event-stream')) {
            throw new NexusTransportError('invalid_response', `The events stream answered ${type || 'no content type'}, not text/event-stream.`)
          }
          failures = 0
          const parser = new EventStreamParser()
          const decoder = new TextDecoder()
          read: for await (const chunk of response.body) {
            for (const event of parser.push(decoder.decode(chunk as Buffer, { stream: true }))) {
              switch (event.event) {
                case 'message': {
                  const message = parseData<Message>(event.data)
                  if (this.#accept(message)) yield message
                  break
                }
                case 'gap': {
                  const { oldestCursor } = parseData<{ oldestCursor: string }>(event.data)
                  try {
                    this.#options.onGap?.(oldestCursor)
                  } catch (err) {
                    // The caller's own error ends the iteration as it would with long-poll.
                    callbackFailure = { err }
                    break read
                  }
                  break
                }
                case 'ended':
                  // After the final message of an ended session: the iteration is done.
                  return
                case 'session_expired':
                  throw endOfStream(event.data, 'session_not_found', 404)
                case 'agent_removed':
                  throw endOfStream(event.data, 'agent_not_in_session', 403)
                case 'shutdown':
                  ending = new NexusTransportError('network_error', 'The server is shutting down.')
                  break read
                case 'error':
                  ending = endOfStream(event.data, 'internal_error', 500)
                  break read
                // Unknown events are for newer clients: ignored.
              }
            }
          }
          ending ??= new NexusTransportError('network_error', 'The event stream ended without a reason.')
        } catch (err) {
          if (signal.aborted) return
          ending = err instanceof NexusApiError || err instanceof NexusTransportError
            ? err
            : new NexusTransportError('network_error', `The event stream broke: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
        } finally {
          signal.removeEventListener('abort', drop)
          connection.abort()
        }
        if (callbackFailure) throw callbackFailure.err
        await this.#pause(ending, failures++, signal)
      }
    } catch (err) {
      if (signal.aborted) return
      throw err
    } finally {
      this.#detach()
    }
  }

  /** True, and the cursor moves on, when `message` is newer than everything yielded so far. */
  #accept(message: Message): boolean {
    const cursor = cursorValue(message?.cursor)
    if (typeof message?.cursor !== 'string' || cursor === undefined) {
      throw new NexusTransportError('invalid_response', 'A message without a valid cursor came from the server.')
    }
    if (cursor <= this.#last) return false
    this.#last = cursor
    return true
  }

  /**
   * After a failure: throws when it ends the iteration (a terminal or a client error, a reply
   * that is not the protocol, too many failures), else waits before the next attempt.
   */
  async #pause(err: unknown, failures: number, signal: AbortSignal): Promise<void> {
    // Both transports are GETs: the same rule as every other request (retry.ts).
    if (!isRetryable(err, 'GET')) throw err
    if (failures >= (this.#options.maxReconnects ?? Infinity)) throw err
    try {
      await sleep(this.#context.http.retryDelay(err, failures), signal)
    } catch {
      // Aborted while waiting: the loop sees the signal and ends.
    }
  }
}

function toCursor(value: string | number): number {
  const cursor = cursorValue(value)
  if (cursor === undefined) throw new TypeError(`Not a cursor: ${JSON.stringify(String(value))}`)
  return cursor
}

function parseData<T>(data: string): T {
  try {
    return JSON.parse(data) as T
  } catch (err) {
    throw new NexusTransportError('invalid_response', 'An event\'s data is not JSON.', { cause: err })
  }
}

/** The error an ending event carries, as the same NexusApiError a poll would have thrown. */
function endOfStream(data: string, fallbackCode: string, status: number): NexusApiError {
  let body: { error?: unknown; message?: unknown } = {}
  try {
    body = JSON.parse(data) as typeof body
  } catch {
    // An ending without a body still ends.
  }
  return new NexusApiError({
    code: typeof body.error === 'string' ? body.error : fallbackCode,
    status,
    message: typeof body.message === 'string' ? body.message : 'The event stream ended.',
  })
}
