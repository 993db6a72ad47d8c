import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

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
