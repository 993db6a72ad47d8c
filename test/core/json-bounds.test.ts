import fc from 'fast-check'
import t from 'tap'
import { measureJson } from '../../src/core/json-bounds.js'

const loose = { maxDepth: 1000, maxNodes: 1_000_000 }

t.test('the bytes measured are those JSON.stringify writes, for any JSON value', async (t) => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    const verdict = measureJson(value, loose)
    return verdict.ok && verdict.bytes === Buffer.byteLength(JSON.stringify(value))
  }), { numRuns: 500 })
  const tricky = { '\u0001"\\': ['\u2028', 'é', '😀', -0, 1e21, 0.1, true, null, {}], __proto__x: [] }
  const verdict = measureJson(tricky, loose)
  t.equal(verdict.ok && verdict.bytes, Buffer.byteLength(JSON.stringify(tricky)))
})

t.test('depth counts arrays and objects; nodes count every value', async (t) => {
  t.same(measureJson('text', { maxDepth: 0, maxNodes: 1 }), { ok: true, bytes: 6, nodes: 1 }, 'a scalar is no level deep')
  t.same(measureJson([[]], { maxDepth: 2, maxNodes: 2 }), { ok: true, bytes: 4, nodes: 2 })
  t.same(measureJson([[]], { maxDepth: 1, maxNodes: 10 }), { ok: false, problem: 'depth' })
  t.same(measureJson({ a: [1, 2] }, { maxDepth: 10, maxNodes: 3 }), { ok: false, problem: 'nodes' })
  t.same(measureJson({ a: 'x'.repeat(100) }, { maxDepth: 10, maxNodes: 10, maxBytes: 50 }), { ok: false, problem: 'bytes' })
})

t.test('a value nested far deeper than the stack allows is measured without recursion', async (t) => {
  let deep: unknown[] = []
  for (let i = 0; i < 200_000; i++) deep = [deep]
  t.same(measureJson(deep, { maxDepth: 32, maxNodes: 1_000_000 }), { ok: false, problem: 'depth' })
  const verdict = measureJson(deep, { maxDepth: 1_000_000, maxNodes: 1_000_000 })
  t.equal(verdict.ok && verdict.nodes, 200_001)
})
