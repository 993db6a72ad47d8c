import t from 'tap'
import { base62, crc32, hasBase62Crc32 } from '../../../src/core/redact/checksum.js'
import { classifyKey } from '../../../src/core/redact/keys.js'
import { isPlaceholderValue, looksFake } from '../../../src/core/redact/placeholder.js'
import { checksummedBody } from './fakes.js'

t.test('crc32 and base62 match the reference values', async (t) => {
  t.equal(crc32('123456789'), 0xcbf43926)
  t.equal(crc32(''), 0)
  t.equal(base62(0, 6), '000000')
  t.equal(base62(61, 1), 'z')
  t.equal(base62(62, 2), '10')
  t.ok(hasBase62Crc32(checksummedBody()))
  t.notOk(hasBase62Crc32('short'))
})

t.test('key names', async (t) => {
  const secret: Array<[string, string]> = [
    ['password', 'password'], ['DB_PASSWORD', 'password'], ['PGPASSWORD', 'password'], ['dbPass', 'password'],
    ['client_secret', 'secret'], ['clientSecret', 'secret'], ['credentials', 'secret'],
    ['access_token', 'token'], ['GITHUB_TOKEN', 'token'], ['X-Auth-Token', 'token'], ['authToken', 'token'],
    ['api_key', 'api_key'], ['apiKey', 'api_key'], ['x-api-key', 'api_key'], ['APIKEY', 'api_key'],
    ['private_key', 'secret'], ['signingKey', 'secret'],
  ]
  for (const [key, type] of secret) t.equal(classifyKey(key)?.type, type, key)
  for (const key of ['key', 'primary_key', 'password_hash', 'max_tokens', 'next_page_token', 'tokenizer',
    'sessionKey', 'X-Session-Key', 'bypass', 'monkey', 'token_type', 'secret_name', 'author', '']) {
    t.equal(classifyKey(key), null, key)
  }
})

t.test('placeholders and fakes', async (t) => {
  for (const v of ['', '   ', 'YOUR_API_KEY', '${TOKEN}', '$TOKEN', '<token>', '{{ .Values.x }}', '%PASS%', '****',
    'xxxx', 'sk-...', 'changeme', 'null', 'your-token-here', '[REDACTED:password]', 'password']) {
    t.ok(isPlaceholderValue(v), v)
  }
  for (const v of ['hunter2x', 'Zq8vR2mNw4', 'correct-horse-9']) t.notOk(isPlaceholderValue(v), v)
  t.ok(looksFake('abcdefghij'))
  t.ok(looksFake('AAAAAAAAAA'))
  t.ok(looksFake('wJalrXUtnFEMIK7MDENGbPxRfiCY' + 'EXAMPLEKEY'))
  t.notOk(looksFake('Zq8vR2mNw4Lp0Xs9'))
})
