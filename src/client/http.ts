import { type Dispatcher, request } from 'undici'
import { type BackoffPolicy, sleep } from './backoff.js'
import { NexusApiError, NexusTransportError } from './errors.js'
import { isRetryable, retryDelay } from './retry.js'
import type { FieldProblem } from './types.js'

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE'

export interface HttpRequest {
  method: Method
  /** Starts with `/`; every variable part already URI-encoded. */
  path: string
  query?: Record<string, string | number | boolean | undefined>
  headers?: Record<string, string | undefined>
  /** Sent as JSON when present. */
  body?: unknown
  signal?: AbortSignal | undefined
  /** Overrides the client's timeout (a long-poll needs its wait on top). */
  timeoutMs?: number
  /** Overrides the client's maxRetries. */
  maxRetries?: number
}

export interface HttpOptions {
  baseUrl: string
  dispatcher: Dispatcher
  timeoutMs: number
  maxRetries: number
  /** The longest `Retry-After` honoured; a longer one is cut to this. */
  maxRetryAfterMs: number
  backoff: BackoffPolicy
  userAgent: string
}

interface RawReply {
  status: number
  headers: Dispatcher.ResponseData['headers']
  text: string
}

/**
 * The one place the client touches the network. It tells a transport failure
 * (NexusTransportError) from an answer of the server (NexusApiError), and retries by the one
 * rule of retry.ts (references/api.md, "Retrying"), up to `maxRetries` times.
 */
export class Http {
  readonly #options: HttpOptions
  readonly #base: string

  constructor(options: HttpOptions) {
    this.#options = options
    this.#base = options.baseUrl.replace(/\/+$/, '')
  }

  /** Sends `req` (with retries, by the one rule of retry.ts) and parses the 2xx reply's JSON. */
  async json<T>(req: HttpRequest): Promise<T> {
    const maxRetries = req.maxRetries ?? this.#options.maxRetries
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.#exchange(req)
        if (reply.status >= 200 && reply.status < 300) return parseJson<T>(reply, req)
        throw apiError(reply)
      } catch (err) {
        if (attempt < maxRetries && isRetryable(err, req.method) && !req.signal?.aborted) {
          await sleep(this.retryDelay(err, attempt), req.signal)
          continue
        }
        throw err
      }
    }
  }

  /**
   * Opens a streaming GET (server-sent events) in one attempt. A non-2xx reply is thrown as a
   * NexusApiError. `idleTimeoutMs` bounds the silence between two chunks of the body.
   */
  async stream(req: HttpRequest, idleTimeoutMs: number): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData
    try {
      response = await request(this.#url(req), {
        ...this.#init(req),
        signal: req.signal,
        headersTimeout: req.timeoutMs ?? this.#options.timeoutMs,
        bodyTimeout: idleTimeoutMs,
      })
    } catch (err) {
      throw transportError(err, req, req.signal, false, this.#options.timeoutMs)
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response
    let text = ''
    try {
      text = await response.body.text()
    } catch {
      // The status says enough.
    }
    throw apiError({ status: response.statusCode, headers: response.headers, text })
  }

  /** How long to wait before retrying after `err`: its Retry-After (capped), else the backoff. */
  retryDelay(err: unknown, attempt: number): number {
    return retryDelay(err, attempt, this.#options)
  }

  /** One request, one reply, read whole within the timeout. */
  async #exchange(req: HttpRequest): Promise<RawReply> {
    const timeoutMs = req.timeoutMs ?? this.#options.timeoutMs
    const outer = req.signal
    if (outer?.aborted) throw outer.reason
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    const onAbort = () => controller.abort()
    outer?.addEventListener('abort', onAbort, { once: true })
    try {
      const response = await request(this.#url(req), { ...this.#init(req), signal: controller.signal })
      const text = await response.body.text()
      return { status: response.statusCode, headers: response.headers, text }
    } catch (err) {
      throw transportError(err, req, outer, timedOut, timeoutMs)
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onAbort)
    }
  }

  #url(req: HttpRequest): string {
    let url = this.#base + req.path
    const query = new URLSearchParams()
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) query.set(name, String(value))
    }
    const search = query.toString()
    if (search !== '') url += `?${search}`
    return url
  }

  #init(req: HttpRequest) {
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent, accept: 'application/json' }
    for (const [name, value] of Object.entries(req.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = value
    }
    let body: string | undefined
    if (req.body !== undefined) {
      body = JSON.stringify(req.body)
      headers['content-type'] = 'application/json; charset=utf-8'
    }
    return { method: req.method, headers, body, dispatcher: this.#options.dispatcher }
  }
}

function transportError(err: unknown, req: HttpRequest, outer: AbortSignal | undefined, timedOut: boolean, timeoutMs: number): unknown {
  if (outer?.aborted) return outer.reason
  if (err instanceof NexusTransportError || err instanceof NexusApiError) return err
  const code = (err as { code?: unknown } | null)?.code
  const undiciTimeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
  if (timedOut || undiciTimeout) {
    return new NexusTransportError('timeout', `${req.method} ${req.path}: no reply within ${timeoutMs} ms`, { cause: err })
  }
  const reason = err instanceof Error ? err.message : String(err)
  return new NexusTransportError('network_error', `${req.method} ${req.path} failed: ${reason}`, { cause: err })
}

function header(headers: RawReply['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

/** The reply as an error: the catalogue's `{error, message, details}` when it is one, else `http_<status>`. */
export function apiError(reply: RawReply): NexusApiError {
  let body: { error?: unknown; message?: unknown; details?: unknown } | undefined
  try {
    const parsed: unknown = JSON.parse(reply.text)
    if (parsed !== null && typeof parsed === 'object') body = parsed as typeof body
  } catch {
    body = undefined
  }
  const catalogued = typeof body?.error === 'string' && /^[a-z][a-z0-9_]*$/.test(body.error)
  return new NexusApiError({
    code: catalogued ? (body!.error as string) : `http_${reply.status}`,
    status: reply.status,
    message: typeof body?.message === 'string' ? body.message : `The server answered ${reply.status}.`,
    details: Array.isArray(body?.details) ? (body.details as FieldProblem[]) : undefined,
    retryAfter: parseRetryAfter(header(reply.headers, 'retry-after')),
    requestId: header(reply.headers, 'x-request-id'),
  })
}

function parseJson<T>(reply: RawReply, req: HttpRequest): T {
  try {
    return JSON.parse(reply.text) as T
  } catch (err) {
    throw new NexusTransportError('invalid_response', `${req.method} ${req.path}: the ${reply.status} reply is not JSON`, { cause: err })
  }
}
