import { readFileSync } from 'node:fs'
import t from 'tap'
import { catalogue } from '../../src/core/errors.js'
import { clientFrames } from '../../src/hub/frames.js'
import { hubErrors } from '../../src/hub/errors.js'

const doc = readFileSync(new URL('../../references/hub.md', import.meta.url), 'utf8')

t.test('every error code in references/hub.md is one the hub has, and every hub code is documented', async (t) => {
  const section = doc.slice(doc.indexOf('| error_code | when |'), doc.indexOf('## Delivery'))
  const documented = new Set([...section.matchAll(/^\|\s*`([a-z_]+)`\s*\|/gm)].map((m) => m[1]!))
  const known = new Set<string>([...Object.values(catalogue).map((entry) => entry.code), ...Object.keys(hubErrors)])
  for (const code of documented) t.ok(known.has(code), `${code} exists`)
  for (const code of Object.keys(hubErrors)) t.ok(documented.has(code), `${code} is documented`)
})

t.test('every client frame is in the frames table of references/hub.md', async (t) => {
  for (const type of Object.keys(clientFrames)) {
    if (type === 'connect' || type === 'ping') t.match(doc, `"type": "${type}"`, type)
    else t.match(doc, new RegExp(`^\\| \`${type}\` \\|`, 'm'), type)
  }
})
