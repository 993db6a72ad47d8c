import t from 'tap'
import { catalogue } from '../../src/core/errors.js'
import { build } from '../helpers.js'
import { exchange } from './raw-http.js'

const statusOf = new Map(Object.values(catalogue).map((entry) => [entry.code, entry.status]))

// Regression: Node's parser and Fastify's default client-error handler answered these with
// {"error":"Bad Request","message":"Client Error","statusCode":400}, a bodiless 417 or 400, or
// (CONNECT) a bare close; none of it was the catalogue.
t.test('what fails before a route runs is answered from the catalogue, then the connection closes', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const cases: Array<{ name: string; data: string; code: string; status: number }> = [
    { name: 'a request line that does not parse', data: 'GARBAGE\r\n\r\n', code: 'invalid_request', status: 400 },
    { name: 'a method Node does not know', data: 'FOO /health HTTP/1.1\r\nHost: x\r\n\r\n', code: 'invalid_request', status: 400 },
    { name: 'a header name with a space', data: 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', code: 'invalid_request', status: 400 },
    { name: 'headers over the size limit', data: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, code: 'headers_too_large', status: 431 },
    { name: 'Content-Length and Transfer-Encoding together', data: 'PUT /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', code: 'invalid_request', status: 400 },
    { name: 'a chunk size that is not hex', data: 'PUT /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', code: 'invalid_request', status: 400 },
    { name: 'an Expect the server cannot meet', data: 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n', code: 'expectation_failed', status: 417 },
    { name: 'HTTP/1.1 without Host', data: 'GET /health HTTP/1.1\r\n\r\n', code: 'invalid_request', status: 400 },
    { name: 'CONNECT', data: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', code: 'method_not_allowed', status: 405 },
  ]
  for (const c of cases) {
    const reply = await exchange(app, c.data)
    t.equal(reply.status, c.status, `${c.name}: ${c.status}`)
    t.equal(reply.json?.error, c.code, `${c.name}: ${c.code}`)
    t.equal(statusOf.get(reply.json?.error), reply.status, `${c.name}: the catalogue's status for the code`)
    t.type(reply.json?.message, 'string', `${c.name}: a message`)
    t.same(Object.keys(reply.json ?? {}).sort(), ['error', 'message'], `${c.name}: the catalogue's shape, nothing else`)
    t.match(reply.headers['content-type'], /^application\/json/, `${c.name}: JSON`)
    t.ok(reply.headers['x-request-id'], `${c.name}: X-Request-Id`)
    t.equal(reply.headers.connection, 'close', `${c.name}: the connection closes`)
  }
})

t.test('Expect: 100-continue still works: the body is asked for and served', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const reply = await exchange(app, 'PUT /v1/sessions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')
  t.equal(reply.status, 100, 'the interim 100 comes first')
  t.match(reply.body, /HTTP\/1\.1 201 Created/)
})

t.test('an HTTP/1.0 request without Host is served: Host is HTTP/1.1\'s rule', async (t) => {
  const app = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const reply = await exchange(app, 'GET /health HTTP/1.0\r\n\r\n')
  t.equal(reply.status, 200)
  t.equal(reply.json?.status, 'ok')
})
