import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { requestLoggerFactory } from '../../src/http/request-logger.js'

/** A pino logger at `level` whose lines land in `lines`, and a request logger made from it. */
function setup(level: string, childOptions: { level?: string } = {}) {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  const root = pino({ level }, sink) as unknown as FastifyBaseLogger
  const log = requestLoggerFactory.call(undefined as never, root, { reqId: 'r-1' }, childOptions, undefined as never)
  return { lines, log, flush: () => new Promise<void>((resolve) => setImmediate(resolve)) }
}

t.test('a line at an enabled level carries the request id, one below it is not written', async (t) => {
  const { lines, log, flush } = setup('warn')
  log.info('not written')
  log.debug({ a: 1 }, 'nor this')
  log.warn({ detail: 'x' }, 'written')
  log.error('also written')
  await flush()
  t.equal(lines.length, 2)
  t.match(lines[0], { reqId: 'r-1', detail: 'x', msg: 'written', level: 40 })
  t.match(lines[1], { reqId: 'r-1', msg: 'also written', level: 50 })
})

t.test('children keep the request id; the level can be read and changed', async (t) => {
  const { lines, log, flush } = setup('info')
  t.equal(log.level, 'info')
  log.child({ part: 'store' }).info('from a child')
  log.level = 'error'
  log.warn('now below the level')
  log.error('still written')
  await flush()
  t.equal(lines.length, 2)
  t.match(lines[0], { reqId: 'r-1', part: 'store', msg: 'from a child' })
  t.match(lines[1], { reqId: 'r-1', msg: 'still written' })
})

t.test('a route with a level of its own gets a real child at once', async (t) => {
  const { lines, log, flush } = setup('warn', { level: 'debug' })
  log.debug('written at the route\'s level')
  await flush()
  t.match(lines, [{ reqId: 'r-1', msg: 'written at the route\'s level' }])
})

/** The app with its log lines captured, at `level`. */
async function appLoggingAt(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000' }), { logger: { level, stream } })
  return { app, lines, flush: () => new Promise<void>((resolve) => setImmediate(resolve)) }
}

t.test('at info, every request writes its two lines, with its id', async (t) => {
  const { app, lines, flush } = await appLoggingAt('info')
  t.teardown(() => app.close())
  await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-info-1' } })
  await flush()
  const mine = lines.filter((line) => line.reqId === 'trace-info-1').map((line) => line.msg)
  t.same(mine, ['incoming request', 'request completed'])
})

t.test('at warn, an ordinary request writes nothing; a failing one still does', async (t) => {
  const { app, lines, flush } = await appLoggingAt('warn')
  t.teardown(() => app.close())
  app.get('/explodes', async () => {
    throw new Error('boom')
  })
  await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-warn-1' } })
  const failed = await app.inject({ method: 'GET', url: '/explodes', headers: { 'x-request-id': 'trace-warn-2' } })
  await flush()
  t.equal(failed.statusCode, 500)
  t.same(lines.filter((line) => line.reqId === 'trace-warn-1'), [])
  t.ok(lines.some((line) => line.reqId === 'trace-warn-2' && line.level === 50), 'the 500 is logged as an error')
})
