import t from 'tap'
import { readFileSync } from 'node:fs'
import { builtinTypes } from '../../../src/core/redact/index.js'

// The reference table and the detector table must not drift apart.
t.test('references/redaction.md lists exactly the built-in types', async (t) => {
  const doc = readFileSync(new URL('../../../references/redaction.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1] as string)
  t.same([...documented].sort(), [...new Set(documented)].sort(), 'no type documented twice')
  const types = builtinTypes()
  for (const type of types) t.ok(documented.includes(type), `${type} is documented`)
  for (const type of documented) t.ok(types.includes(type), `${type} exists`)
})
