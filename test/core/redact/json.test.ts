import t from 'tap'
import { createRedactor } from '../../../src/core/redact/index.js'
import { checksummedBody, password, rand } from './fakes.js'

const redactor = createRedactor()

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

t.test('strings are redacted at every depth; other values and keys stay', async (t) => {
  const gh = 'gh' + 'p_' + checksummedBody()
  const aws = 'AK' + 'IA' + rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
  const input = deepFreeze({
    note: `use ${gh}`,
    list: [1, true, null, [{ deep: [`key ${aws}`, 'plain'] }], 'plain'],
    nested: { n: 3.5, empty: {}, arr: [] as unknown[] },
    [gh]: 'keys are left as they are',
  })
  const before = JSON.stringify(input)
  const result = redactor.redactJson(input)
  t.same(result.value, {
    note: 'use [REDACTED:github_pat]',
    list: [1, true, null, [{ deep: ['key [REDACTED:aws_access_key_id]', 'plain'] }], 'plain'],
    nested: { n: 3.5, empty: {}, arr: [] },
    [gh]: 'keys are left as they are',
  })
  t.same(result.redactions, ['github_pat', 'aws_access_key_id'])
  t.equal(JSON.stringify(input), before, 'input not mutated')
  t.not(result.value, input, 'a new value')
})

t.test('a string under a secret-named key is replaced whole', async (t) => {
  const pw = password()
  const result = redactor.redactJson({
    db: { user: 'app', password: pw, passwordHint: 'the usual' },
    auth: { clientSecret: rand(24), apiKey: rand(24), sessionKey: rand(64, '0123456789abcdef') },
    tokens: { access_token: rand(30), next_page_token: 'CAESBgoE', max_tokens: 4096 },
  })
  const value = result.value as Record<string, Record<string, unknown>>
  t.equal(value.db?.password, '[REDACTED:password]')
  t.equal(value.db?.user, 'app')
  t.equal(value.db?.passwordHint, 'the usual')
  t.equal(value.auth?.clientSecret, '[REDACTED:secret]')
  t.equal(value.auth?.apiKey, '[REDACTED:api_key]')
  t.match(value.auth?.sessionKey, /^[0-9a-f]{64}$/, "the service's own session key is not a third-party secret")
  t.equal(value.tokens?.access_token, '[REDACTED:token]')
  t.equal(value.tokens?.next_page_token, 'CAESBgoE')
  t.equal(value.tokens?.max_tokens, 4096)
  t.same(result.redactions, ['password', 'secret', 'api_key', 'token'])
})

t.test('placeholders under secret keys stay', async (t) => {
  const input = { password: '', token: '${TOKEN}', apiKey: 'YOUR_API_KEY', secret: 'changeme', api_key: null }
  t.same(redactor.redactJson(input), { value: input, redactions: [] })
})

t.test('array items inherit the key of their array', async (t) => {
  const result = redactor.redactJson({ passwords: ['a'], password: [password(), 'x'] })
  t.same(result.value, { passwords: ['a'], password: ['[REDACTED:password]', 'x'] })
})

t.test('scalars and top-level strings', async (t) => {
  t.same(redactor.redactJson(42), { value: 42, redactions: [] })
  t.same(redactor.redactJson(null), { value: null, redactions: [] })
  const gh = 'gh' + 'p_' + checksummedBody()
  t.same(redactor.redactJson(gh), { value: '[REDACTED:github_pat]', redactions: ['github_pat'] })
})

t.test('a "__proto__" key from JSON.parse stays an own property', async (t) => {
  const input = JSON.parse('{"__proto__": {"x": "y"}, "a": 1}') as object
  const result = redactor.redactJson(input)
  t.same(Object.keys(result.value as object), ['__proto__', 'a'])
  t.equal(Object.getPrototypeOf(result.value), Object.prototype)
  t.equal(JSON.stringify(result.value), '{"__proto__":{"x":"y"},"a":1}')
})

t.test('deep nesting does not overflow the stack', async (t) => {
  let value: unknown = 'gh' + 'p_' + checksummedBody()
  for (let i = 0; i < 100_000; i++) value = [value]
  const result = redactor.redactJson(value)
  let inner = result.value
  while (Array.isArray(inner)) inner = inner[0]
  t.equal(inner, '[REDACTED:github_pat]')
})

t.test('a cyclic value is refused rather than looping', async (t) => {
  const a: Record<string, unknown> = { x: 'y' }
  a.self = a
  t.throws(() => redactor.redactJson(a), /cycle/)
})
