import t from 'tap'
import { cursorValue } from '../../src/core/cursor.js'
import { cursorSchema, cursorText } from '../../src/core/inputs.js'
import { cursorExamples, cursorRule } from '../api-rules.js'

t.test('the one cursor rule is the one references/api.md states', async (t) => {
  const rule = cursorRule()
  t.equal(rule.minDigits, 1)
  t.equal(rule.max, BigInt(Number.MAX_SAFE_INTEGER), 'the largest cursor is exact as a JavaScript number')
  const { valid, invalid } = cursorExamples(rule)
  for (const text of valid) {
    t.equal(cursorValue(text), Number(text), `${JSON.stringify(text)} is a cursor`)
    t.equal(cursorSchema.safeParse(text).data, Number(text), `after=${text} is accepted`)
    t.ok(cursorText.safeParse(String(Number(text))).success, `a reply may carry ${Number(text)}`)
  }
  for (const text of invalid) {
    t.equal(cursorValue(text), undefined, `${JSON.stringify(text)} is not a cursor`)
    t.notOk(cursorSchema.safeParse(text).success, `after=${JSON.stringify(text)} is refused`)
  }
})

t.test('a bare number is accepted where a cursor is, by the same rule', async (t) => {
  t.equal(cursorValue(7), 7)
  t.equal(cursorValue(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)
  for (const value of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity]) t.equal(cursorValue(value), undefined, `${value} is not a cursor`)
  for (const value of [null, undefined, true, {}, ['1']]) t.equal(cursorValue(value), undefined, `${JSON.stringify(value)} is not a cursor`)
})
