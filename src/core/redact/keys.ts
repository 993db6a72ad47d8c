// Which key names hold secrets. Shared by the key=value scanner (text) and the JSON walk (object
// keys), so `password=x` in an env file and {"password": "x"} in a payload agree.

export type KeyClass = 'password' | 'secret' | 'token' | 'api_key'

export interface KeyRule {
  type: KeyClass
  /** Extra shape the value must have; some key names are too common to trust alone. */
  valueShape?: RegExp
  /** The word in the key that made it secret, to spot `password = password` style references. */
  word: string
}

const PASSWORD_WORDS = new Set(['password', 'passwd', 'passphrase', 'pass', 'pw', 'pwd', 'passwort'])

/** Words before "token" that make it a position or a vocabulary item, not a credential. */
const NOT_SECRET_TOKEN = new Set([
  'page', 'next', 'prev', 'previous', 'continuation', 'sync', 'cancellation', 'cancel', 'max',
  'min', 'num', 'total', 'count', 'eos', 'bos', 'pad', 'unk', 'sep', 'cls', 'mask', 'special',
  'start', 'end', 'stop', 'input', 'output', 'prompt', 'completion', 'reasoning', 'cached',
  'resume', 'pagination', 'cursor', 'first', 'last',
])

/**
 * Words before "key" that make it a credential. "key" alone is a primary key, a map key, a
 * keyboard key. `session` is deliberately absent: this service's own session keys are quoted in
 * agents' instructions to each other, and the brief keeps them readable.
 */
const KEY_QUALIFIERS: ReadonlyMap<string, KeyClass> = new Map([
  ['api', 'api_key'], ['access', 'api_key'], ['app', 'api_key'], ['application', 'api_key'],
  ['client', 'api_key'], ['account', 'api_key'], ['license', 'api_key'], ['licence', 'api_key'],
  ['subscription', 'api_key'], ['admin', 'api_key'], ['ingest', 'api_key'], ['ingestion', 'api_key'],
  ['webhook', 'api_key'], ['service', 'api_key'], ['consumer', 'api_key'], ['server', 'api_key'],
  ['developer', 'api_key'], ['storage', 'api_key'], ['sas', 'api_key'], ['management', 'api_key'],
  ['deploy', 'api_key'], ['auth', 'api_key'], ['write', 'api_key'],
  ['secret', 'secret'], ['private', 'secret'], ['signing', 'secret'], ['sign', 'secret'],
  ['encryption', 'secret'], ['encrypt', 'secret'], ['master', 'secret'], ['shared', 'secret'],
  ['hmac', 'secret'], ['jwt', 'secret'], ['cookie', 'secret'], ['root', 'secret'],
])

const CREDENTIAL_WORDS = new Set(['credential', 'credentials', 'creds', 'cred'])

/** Quick reject before splitting: every secret key name contains one of these. */
const HINTS = ['pass', 'pw', 'secret', 'token', 'key', 'auth', 'cred']

/** Split `DB_PASSWORD`, `clientSecret`, `x-api-key`, `aws.secret` into lower-case words. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0)
}

/**
 * Key names repeat (a config file says `password` many times; hostile input says it 100 000
 * times), and splitting them into words is the costly part: remember recent answers.
 */
const cache = new Map<string, KeyRule | null>()
const CACHE_LIMIT = 4096

/** The secret class of a key name, or null. The last word decides: `password_hash` is not one. */
export function classifyKey(key: string): KeyRule | null {
  if (key.length === 0 || key.length > 64) return null
  const cached = cache.get(key)
  if (cached !== undefined) return cached
  const rule = classify(key)
  if (cache.size >= CACHE_LIMIT) cache.clear()
  cache.set(key, rule)
  return rule
}

function classify(key: string): KeyRule | null {
  const lower = key.toLowerCase()
  if (!HINTS.some((h) => lower.includes(h))) return null
  const ws = words(key)
  const last = ws[ws.length - 1]
  if (last === undefined) return null
  const prev = ws[ws.length - 2]

  if (PASSWORD_WORDS.has(last)) return { type: 'password', word: last }
  // Glued compounds: PGPASSWORD, dbpassword, clientsecret ("bypass" is why "pass" is exact).
  for (const w of ['password', 'passwd', 'passphrase']) if (last.endsWith(w)) return { type: 'password', word: w }
  if (last.endsWith('secret')) return { type: 'secret', word: 'secret' }
  if (CREDENTIAL_WORDS.has(last)) return { type: 'secret', word: last }
  // Docker's config.json and .npmrc keep "user:pass" base64 under `auth` / `_auth`; any other
  // value of an `auth` key ("required", "oauth2") is a setting, not a credential.
  if (last === 'auth') return { type: 'secret', word: last, valueShape: /^[A-Za-z0-9+/]{12,}={0,2}$/ }

  if (last.endsWith('token') && last !== 'tokens') {
    const qualifier = last === 'token' ? prev : last.slice(0, -'token'.length)
    if (qualifier !== undefined && NOT_SECRET_TOKEN.has(qualifier)) return null
    return { type: 'token', word: 'token' }
  }
  if (last.endsWith('key')) {
    const qualifier = last === 'key' ? prev : last.slice(0, -'key'.length)
    if (qualifier === undefined) return null
    const cls = KEY_QUALIFIERS.get(qualifier) ?? (qualifier.endsWith('api') ? 'api_key' : undefined)
    return cls === undefined ? null : { type: cls, word: 'key' }
  }
  return null
}
