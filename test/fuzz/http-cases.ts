import fc from 'fast-check'
import { MAX_JSON_DEPTH } from './support.js'

/**
 * The generators of the HTTP fuzz: requests built from the OpenAPI document (every operation,
 * its path, query and header parameters and its body's keys), each part either something the
 * route accepts, something close to it, or something odd.
 */

export interface Operation {
  method: string
  /** The OpenAPI path, `{id}` style. */
  path: string
  query: string[]
  headers: string[]
  bodyKeys: string[]
}

/** What a test session offers the generators, so many cases reach the rules and not only validation. */
export interface Fixture {
  sessionId: string
  hostKey: string
  guestKey: string
  code: string
}

export interface FuzzRequest {
  method: string
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
  /** The operation it was built from, for the report. */
  from: string
}

/** The operations of an OpenAPI document. */
export function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const operations: Operation[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters: { in: string; name: string }[] = op.parameters ?? []
      const schema = op.requestBody?.content?.['application/json']?.schema
      operations.push({
        method: method.toUpperCase(),
        path,
        query: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        headers: parameters.filter((p) => p.in === 'header').map((p) => p.name),
        bodyKeys: Object.keys(schema?.properties ?? {}),
      })
    }
  }
  return operations
}

/** Every byte of the UTF-8 of `text` that is not unreserved, percent-encoded (lone surrogates included). */
export function percentEncode(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte)
    out += /[A-Za-z0-9._~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Strings that have broken parsers and validators before. */
const oddStrings = [
  '', ' ', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'null', 'undefined', 'true', '[]', '{}',
  '-1', '0', '00', '1.5', '1e309', '-0', 'NaN', 'Infinity', '0x10', '9007199254740993', '١٢', '😀', '\u202e', '\u0000',
  'system', 'SYSTEM', 'a'.repeat(129), 'x'.repeat(5000), '\ud800', 'é', "'; DROP TABLE x; --", '../../etc/passwd',
]

/** Already-encoded path and query pieces, kept as they are: odd escapes, invalid UTF-8, separators. */
const rawPieces = ['%00', '%ZZ', '%', '%2', '..', '.', '%2e%2e', '%2F', 'a%2Fb', '%C3%28', '%FF%FE', '%E2%82', '%EF%BF%BD', '%25', '+', ';', '%0d%0a']

const unicode = fc.string({ unit: 'binary', maxLength: 24 })
const ascii = fc.string({ unit: 'binary-ascii', maxLength: 24 })
const odd = fc.constantFrom(...oddStrings)

/** A value for a path segment: one that names something real, an unknown one, or an odd one. */
function segment(name: string, fixture: Fixture): fc.Arbitrary<string> {
  const real = name === 'id' ? [fixture.sessionId] : name === 'code' ? [fixture.code, fixture.code.toLowerCase()] : ['host', 'guest']
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-f]{48}$/) },
    { weight: 2, arbitrary: fc.oneof(odd, unicode, ascii).map(percentEncode) },
    { weight: 1, arbitrary: fc.constantFrom(...rawPieces) },
  )
}

/**
 * A query value. `wait` is kept to values that never hold a request (0 or refused ones): a held
 * long-poll is correct behaviour, but thousands of them would make the suite minutes long.
 */
function queryValue(name: string): fc.Arbitrary<string> {
  if (name === 'wait') return fc.constantFrom('0', '-1', '61', '1e3', '0.5', 'abc', '', '00', ' 0', '%00')
  const valid = name === 'after' ? fc.nat({ max: 5 }).map(String)
    : name === 'limit' ? fc.integer({ min: -2, max: 1002 }).map(String)
    : name === 'members' ? fc.constantFrom('true', 'false', '1', 'yes')
    : fc.constantFrom('host', 'guest')
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: fc.oneof(odd, unicode).map(percentEncode) }, { weight: 1, arbitrary: fc.constantFrom(...rawPieces) })
}

/** A header value: what a client would send, or odd text that is still a legal header. */
function headerValue(name: string, fixture: Fixture): fc.Arbitrary<string> {
  const valid = name === 'x-session-key' ? fc.constantFrom(fixture.hostKey, fixture.guestKey, fixture.hostKey.toUpperCase(), 'f'.repeat(64))
    : name === 'last-event-id' ? fc.nat({ max: 5 }).map(String)
    : fc.constantFrom('host', 'guest', 'stranger', 'a-b_c', 'system')
  const legal = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 })
  const latin1 = fc.string({ unit: fc.integer({ min: 0xa0, max: 0xff }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 8 })
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 2, arbitrary: legal }, { weight: 1, arbitrary: latin1 }, { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a'.repeat(8000), '__proto__') })
}

/** JSON nested `depth` levels deep, arrays or objects. */
export function nested(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

/** Values for the body keys the operations declare. */
function bodyValue(key: string, fixture: Fixture, maxMessageBytes: number): fc.Arbitrary<unknown> {
  const wrong = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, true, -1, 0, 1e308, -1e308, 1.5, '', [], {}, '60', 2 ** 53 + 1))
  const valid = key === 'ttl' ? fc.integer({ min: 0, max: 200_000 })
    : key === 'maxAgents' ? fc.integer({ min: -1, max: 60 })
    : key === 'sessionId' ? fc.constantFrom(fixture.sessionId, fixture.sessionId.toUpperCase(), 'f'.repeat(48))
    : key === 'creatorAgentId' ? fc.constantFrom('host', 'creator', 'system', 'bad id', 'a'.repeat(129))
    : key === 'json' ? fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom({ __proto__: null, constructor: 1 }))
    : fc.oneof(unicode, fc.constantFrom('x'.repeat(maxMessageBytes), 'x'.repeat(maxMessageBytes + 1), 'é'.repeat(maxMessageBytes / 2 + 1)))
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: wrong })
}

/** A body: none, shaped by the operation's keys, or odd JSON, text or bytes. */
function body(op: Operation, fixture: Fixture, maxMessageBytes: number): fc.Arbitrary<string | Buffer | undefined> {
  const keys = op.bodyKeys.length > 0 ? op.bodyKeys : ['text']
  const shaped = fc.record(Object.fromEntries(keys.map((key) => [key, bodyValue(key, fixture, maxMessageBytes)])), { requiredKeys: [] })
    .map((value) => JSON.stringify(value))
  const depth = fc.integer({ min: 1, max: MAX_JSON_DEPTH })
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: shaped },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)) },
    // Keys that pollute prototypes, as raw text (an object literal would set the prototype instead).
    { weight: 2, arbitrary: shaped.map((text) => text.replace(/^\{/, '{"__proto__":{"polluted":true},').replace(/,\}$/, '}')) },
    { weight: 1, arbitrary: fc.constantFrom('{"constructor":{"prototype":{"polluted":true}}}', '{"json":{"__proto__":{"polluted":true}}}', '{"text":"x","json":{"constructor":{"prototype":{"polluted":true}}}}') },
    { weight: 2, arbitrary: fc.tuple(depth, fc.constantFrom('array' as const, 'object' as const), fc.constantFrom('json', 'text', 'top')).map(([d, shape, where]) =>
      where === 'top' ? nested(d, shape) : `{"${where}":${nested(d, shape)}}`) },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"text":', '{"text":"x"', '{"text":"x"}}', '[', '"', 'nul', '{"text":"\\ud800"}', '{"text":"\\u0000"}', '\ufeff{"text":"x"}', '{"text":"x","text":"y"}', '1e999999') },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.constantFrom(
      Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // {"text":"\xff\xfe"}
      Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), // {"text":"\xc3("}
      Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // an encoded lone surrogate
    ) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(maxMessageBytes * 6 + 70 * 1024), `{"text":"${'y'.repeat(maxMessageBytes * 3)}"}`) },
  )
}

const contentTypes = [
  'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=latin1', ';;;', 'application/JSON', '*/*', 'text/html',
]
const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']

/** One request to one operation of the document, with every part drawn. */
export function requestFor(op: Operation, fixture: Fixture, maxMessageBytes: number): fc.Arbitrary<FuzzRequest> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)
  const segments = fc.tuple(...names.map((name) => segment(name, fixture)))
  const query = fc.array(
    fc.oneof(
      { weight: 4, arbitrary: op.query.length > 0 ? fc.constantFrom(...op.query) : fc.constant('after') },
      { weight: 1, arbitrary: fc.oneof(odd, ascii).map(percentEncode) },
    ).chain((name) => queryValue(name).map((value) => `${name}=${value}`)),
    { maxLength: 4 },
  )
  const headerNames = [...op.headers, 'x-agent-id', 'x-session-key', 'accept', 'authorization']
  const headers = fc.dictionary(fc.constantFrom(...headerNames), fc.constant(''), { maxKeys: headerNames.length }).chain((picked) =>
    fc.record(Object.fromEntries(Object.keys(picked).map((name) => [name, name === 'accept'
      ? fc.constantFrom('text/html', 'text/markdown', 'application/json', '*/*', 'text/html;q=0.1, text/markdown', '', ';;')
      : headerValue(name, fixture)]))))
  const method = fc.oneof({ weight: 9, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...methods) })
  const contentType = fc.option(fc.constantFrom(...contentTypes), { nil: undefined, freq: 3 })
  return fc.record({ method, segments, query, headers, contentType, payload: body(op, fixture, maxMessageBytes) }).map((drawn) => {
    let path = op.path
    names.forEach((name, i) => {
      path = path.replace(`{${name}}`, drawn.segments[i]!)
    })
    const url = drawn.query.length > 0 ? `${path}?${drawn.query.join('&')}` : path
    const headers: Record<string, string> = { ...(drawn.headers as Record<string, string>) }
    if (drawn.contentType !== undefined && drawn.payload !== undefined) headers['content-type'] = drawn.contentType
    return { method: drawn.method, url, headers, ...(drawn.payload !== undefined ? { payload: drawn.payload } : {}), from: `${op.method} ${op.path}` }
  })
}
