import t from 'tap'
import { createRedactor } from '../../../src/core/redact/index.js'
import { makeHostileInputs } from './hostile-inputs.js'

const redactor = createRedactor()

// The target is well under 100 ms per MB; the bound here is 1 s so a busy shared machine does
// not make the test flaky. A catastrophic pattern takes minutes, so 1 s still catches it.
const BOUND_MS = 1000

t.test('hostile 1 MB inputs are scanned in bounded time', async (t) => {
  redactor.redactText('warm up the JIT: password=abc123 ' + 'gh' + 'p_x')
  for (const { name, text } of makeHostileInputs()) {
    const start = performance.now()
    const result = redactor.redactText(text)
    const ms = performance.now() - start
    t.ok(ms < BOUND_MS, `${name}: ${ms.toFixed(1)} ms`)
    t.type(result.text, 'string')
    if (ms > 100) t.comment(`slow (over the 100 ms target): ${name} ${ms.toFixed(1)} ms`)
  }
})

t.test('a hostile input inside a JSON payload is bounded as well', async (t) => {
  const inputs = makeHostileInputs().slice(0, 6)
  const start = performance.now()
  redactor.redactJson({ items: inputs.map((i) => ({ password: i.text, note: i.text })) })
  t.ok(performance.now() - start < BOUND_MS * inputs.length)
})
