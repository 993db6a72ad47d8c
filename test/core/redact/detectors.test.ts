import t from 'tap'
import { builtinTypes, createRedactor } from '../../../src/core/redact/index.js'
import * as checksum from '../../../src/core/redact/checksum.js'
import { CONTEXTS, embed, makeFakes, rand, checksummedBody } from './fakes.js'

const redactor = createRedactor()

t.test('every built-in type has a generated fake', async (t) => {
  const covered = new Set(makeFakes().map((f) => f.type))
  for (const type of builtinTypes()) t.ok(covered.has(type), `a fake exists for ${type}`)
  t.ok(builtinTypes().length >= 40, `at least 40 types (${builtinTypes().length})`)
  for (const type of builtinTypes()) t.match(type, /^[a-z0-9_]+$/, `${type} is snake_case`)
})

t.test('each fake is redacted with its label, in every context, and nothing else changes', async (t) => {
  for (const fake of makeFakes()) {
    for (const context of CONTEXTS) {
      const embedded = embed(fake, context)
      if (embedded === null) continue
      const marker = `[REDACTED:${fake.type}]`
      const expected = embedded.text.split(embedded.secretForm).join(marker)
      const result = redactor.redactText(embedded.text)
      t.equal(result.text, expected, `${fake.type} in ${context}: ${fake.snippet.slice(0, 24)}…`)
      t.same(result.redactions, [fake.type], `${fake.type} in ${context}: redactions`)
    }
  }
})

t.test('redacting twice changes nothing the second time', async (t) => {
  for (const fake of makeFakes()) {
    const once = redactor.redactText(`see ${fake.snippet} now`)
    const twice = redactor.redactText(once.text)
    t.equal(twice.text, once.text, fake.type)
    t.same(twice.redactions, [], `${fake.type}: no new redactions`)
  }
})

t.test('a token glued inside a longer word is not a token', async (t) => {
  const body = checksummedBody()
  const glued = ['xgh' + 'p_' + body, 'gh' + 'p_' + body + 'x', 'AK' + 'IA' + rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') + 'Q', 'mysk-' + rand(48)]
  for (const text of glued) t.same(redactor.redactText(text), { text, redactions: [] }, text.slice(0, 12))
})

t.test('several secrets: each replaced, types unique and in order of first appearance', async (t) => {
  const [gh, aws, gh2] = ['gh' + 'p_' + checksummedBody(), 'AK' + 'IA' + rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 'gh' + 'p_' + checksummedBody()]
  const pw = rand(10) + '7q'
  const text = `first ${aws}, then password=${pw} and ${gh}\nand again ${gh2} and ${aws}`
  const result = redactor.redactText(text)
  t.equal(result.text,
    'first [REDACTED:aws_access_key_id], then password=[REDACTED:password] and [REDACTED:github_pat]\n' +
    'and again [REDACTED:github_pat] and [REDACTED:aws_access_key_id]')
  t.same(result.redactions, ['aws_access_key_id', 'password', 'github_pat'])
})

t.test('a token inside a key=value is named by its own format, not the key', async (t) => {
  const gh = 'gh' + 'p_' + checksummedBody()
  t.same(redactor.redactText(`GITHUB_TOKEN=${gh}`), { text: 'GITHUB_TOKEN=[REDACTED:github_pat]', redactions: ['github_pat'] })
  t.same(redactor.redactText(`https://x-access-token:${gh}@github.com/o/r.git`),
    { text: 'https://x-access-token:[REDACTED:github_pat]@github.com/o/r.git', redactions: ['github_pat'] })
})

t.test('a checksum adds confidence, never removes it', async (t) => {
  const body = checksummedBody()
  const bad = 'gh' + 'p_' + body.slice(0, -1) + (body.endsWith('Z') ? 'Y' : 'Z')
  t.same(redactor.redactText(`GITHUB_TOKEN=${bad}`), { text: 'GITHUB_TOKEN=[REDACTED:github_pat]', redactions: ['github_pat'] },
    'the exact shape with a wrong checksum is still that vendor\'s token')
  t.same(redactor.redactText(`the docs show ${bad} as an example`).redactions, ['github_pat'], 'bare, too')
  const fake = 'gh' + 'p_' + 'x'.repeat(36)
  t.same(redactor.redactText(fake).redactions, [], 'an obvious fake with no valid checksum is left alone')
  // A body that looks fake but carries a valid checksum was issued that way: redacted.
  const patterned = 'abcdefghijklmnopqrstuvwxyz0123'
  const { crc32, base62 } = checksum
  const verified = 'gh' + 'p_' + patterned + base62(crc32(patterned), 6)
  t.same(redactor.redactText(verified).redactions, ['github_pat'], 'a verified checksum outweighs a fake-looking body')
})

t.test('a private key with no END line is redacted to the end of the text', async (t) => {
  const text = 'here:\n-----BEGIN OPENSSH PRIVATE KEY-----\n' + rand(70) + '\n' + rand(70)
  t.same(redactor.redactText(text), { text: 'here:\n[REDACTED:openssh_private_key]', redactions: ['openssh_private_key'] })
})

t.test('a database URL keeps everything but the password', async (t) => {
  const pw = rand(12) + '9x'
  t.same(redactor.redactText(`DATABASE_URL=postgresql://app:${pw}@db.internal:5432/app?sslmode=require`), {
    text: 'DATABASE_URL=postgresql://app:[REDACTED:database_url_password]@db.internal:5432/app?sslmode=require',
    redactions: ['database_url_password'],
  })
  // A password with "@" in it (unencoded) is taken up to the last "@" of the authority.
  t.same(redactor.redactText(`redis://u:p@ss${pw}@cache:6379`), {
    text: 'redis://u:[REDACTED:database_url_password]@cache:6379',
    redactions: ['database_url_password'],
  })
})

t.test('empty and secret-free text come back as they are', async (t) => {
  t.same(redactor.redactText(''), { text: '', redactions: [] })
  t.same(redactor.redactText('hello'), { text: 'hello', redactions: [] })
})
