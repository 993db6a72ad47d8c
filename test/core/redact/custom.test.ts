import t from 'tap'
import { createRedactor, parseCustomPatterns } from '../../../src/core/redact/index.js'

t.test('extra patterns redact with their own type', async (t) => {
  const redactor = createRedactor({
    extraPatterns: [
      { type: 'acme_key', pattern: 'ACME-[0-9A-F]{16}' },
      { type: 'employee_id', pattern: 'emp(?<secret>[0-9]{6})', flags: 'i' },
    ],
  })
  t.same(redactor.redactText('key ACME-0123456789ABCDEF and EMP123456.'), {
    text: 'key [REDACTED:acme_key] and EMP[REDACTED:employee_id].',
    redactions: ['acme_key', 'employee_id'],
  })
  t.same(redactor.redactJson({ a: ['ACME-0123456789ABCDEF'] }), { value: { a: ['[REDACTED:acme_key]'] }, redactions: ['acme_key'] })
  // Built-ins still run alongside.
  t.same(redactor.redactText('password=hunter22x').redactions, ['password'])
})

t.test('a redactor without extra patterns does not know them', async (t) => {
  t.same(createRedactor().redactText('ACME-0123456789ABCDEF').redactions, [])
})

t.test('parseCustomPatterns accepts a valid list', async (t) => {
  t.same(parseCustomPatterns('[]'), [])
  t.same(parseCustomPatterns('[{"type":"acme_key","pattern":"ACME-[0-9]{4}"},{"type":"x1","pattern":"y","flags":"i"}]'), [
    { type: 'acme_key', pattern: 'ACME-[0-9]{4}' },
    { type: 'x1', pattern: 'y', flags: 'i' },
  ])
})

t.test('parseCustomPatterns refuses bad input with a clear one-line message', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['{"type":"a","pattern":"b"}', /expected a JSON array/],
    ['[42]', /\[0\]: expected an object/],
    ['[{"type":"Acme","pattern":"x"}]', /\[0\]: type "Acme" must be 1 to 64 characters of a-z, 0-9 and _/],
    ['[{"type":"","pattern":"x"}]', /type "" must be/],
    [`[{"type":"${'a'.repeat(65)}","pattern":"x"}]`, /must be 1 to 64/],
    ['[{"pattern":"x"}]', /type undefined must be/],
    ['[{"type":"a"}]', /pattern must be a non-empty string/],
    ['[{"type":"a","pattern":"ok"},{"type":"b","pattern":"(unclosed"}]', /\[1\]: pattern does not compile: Invalid regular expression/],
    ['[{"type":"a","pattern":"x","flags":"g"}]', /flags "g" may only contain i, m, s, u, v/],
    ['[{"type":"a","pattern":"x*"}]', /matches the empty string/],
    ['[{"type":"a","pattern":"(a+)+b"}]', /nests unbounded quantifiers/],
    ['[{"type":"a","pattern":"(?:\\\\w+\\\\s?)*x"}]', /nests unbounded quantifiers/],
    ['[{"type":"a","pattern":"x","flag":"i"}]', /unknown field "flag"/],
  ]
  for (const [json, message] of cases) {
    t.throws(() => parseCustomPatterns(json), message, json.slice(0, 50))
    try {
      parseCustomPatterns(json)
    } catch (err) {
      t.notMatch((err as Error).message, /\n/, 'one line')
      t.match((err as Error).message, /^redaction patterns/, 'names the setting')
    }
  }
})

t.test('bounded repetition of a group is fine', async (t) => {
  t.same(parseCustomPatterns('[{"type":"a","pattern":"(?:[a-z]{2,8}-){1,4}[0-9]+"}]').length, 1)
  t.same(parseCustomPatterns('[{"type":"a","pattern":"[(+]+x\\\\(y+\\\\)+"}]').length, 1, 'quantifiers in classes and escapes do not count')
})

t.test('createRedactor validates patterns passed directly', async (t) => {
  t.throws(() => createRedactor({ extraPatterns: [{ type: 'BAD', pattern: 'x' }] }), /extraPatterns\[0\]: type "BAD"/)
})
