import t from 'tap'
import { createRedactor } from '../../../src/core/redact/index.js'
import { makeLookAlikes } from './look-alikes.js'

const redactor = createRedactor()

t.test('look-alikes come through unchanged with no redactions', async (t) => {
  // Several rounds: many look-alikes are random, so each run tries new ones.
  for (let round = 0; round < 5; round++) {
    for (const text of makeLookAlikes()) {
      t.same(redactor.redactText(text), { text, redactions: [] }, JSON.stringify(text.slice(0, 60)))
    }
  }
})

t.test('look-alikes inside a JSON payload are untouched too', async (t) => {
  const payload = { notes: makeLookAlikes(), meta: { round: 1 } }
  const result = redactor.redactJson(payload)
  t.same(result.value, payload)
  t.same(result.redactions, [])
})
