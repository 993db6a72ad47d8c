import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type Bindings = Record<string, unknown>
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]
/** pino's loggers answer this; a logger that does not is taken to write every level. */
type Logger = FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }

const enabled = (log: Logger, level: string): boolean => log.isLevelEnabled?.(level) ?? true

/**
 * A request's logger, made only when a line is actually written at an enabled level.
 *
 * Fastify gives every request a child of the app's logger bound to its request id, and a pino
 * child serialises its bindings the moment it is made: on the hot path (sends and polls at
 * LOG_LEVEL=warn, where nothing is written) that was one of the larger costs of a request.
 * This stands in for the child and makes the real one on first use, so lines still carry the
 * `reqId` exactly as before.
 */
class RequestLogger {
  readonly #parent: Logger
  readonly #bindings: Bindings
  readonly #options: ChildOptions | undefined
  #child: Logger | undefined

  constructor(parent: Logger, bindings: Bindings, options: ChildOptions | undefined) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  /** Whose level applies: the child's once it exists (its level may have been changed). */
  get #current(): Logger {
    return this.#child ?? this.#parent
  }

  #write(level: Level, args: unknown[]): void {
    if (!enabled(this.#current, level)) return
    const log = this.#real()
    ;(log[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): string {
    return this.#current.level
  }

  set level(level: string) {
    this.#real().level = level
  }

  isLevelEnabled(level: string): boolean {
    return enabled(this.#current, level)
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args)
  }

  error(...args: unknown[]): void {
    this.#write('error', args)
  }

  warn(...args: unknown[]): void {
    this.#write('warn', args)
  }

  info(...args: unknown[]): void {
    this.#write('info', args)
  }

  debug(...args: unknown[]): void {
    this.#write('debug', args)
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args)
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

/**
 * Fastify's `childLoggerFactory`: a request logger that costs nothing until it writes. A route
 * with a level of its own gets a real child at once, since its level differs from the app's.
 */
export const requestLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  options.level !== undefined
    ? logger.child(bindings, options)
    // Fastify passes a fresh `{}` when the route sets nothing: not worth keeping for a whole long-poll.
    : (new RequestLogger(logger, bindings, isEmpty(options) ? undefined : options) as unknown as FastifyBaseLogger)

function isEmpty(options: object): boolean {
  for (const _ in options) return false
  return true
}

/**
 * Fastify's two lines per request ("incoming request", "request completed"), built only when
 * they would be written. Fastify makes their arguments (an object each, and the response time)
 * before the logger looks at its level, so at LOG_LEVEL=warn every request paid for two lines
 * nobody sees. Errors, and every other line fastify writes, go through as before.
 */
export class RequestLineController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (enabled(request.log, 'info')) super.incomingRequest(request, reply)
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error || enabled(reply.log, 'info')) super.requestCompleted(error, request, reply)
  }
}
