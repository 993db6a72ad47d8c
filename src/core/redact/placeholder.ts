// Values that look like secrets by position but are obviously not: documentation placeholders,
// template references, masks. Redacting them would only make agents' instructions unreadable.

/**
 * Words that are placeholders, types or literals rather than credentials. `changeme` is here on
 * purpose: it is a published default, so hiding it protects nothing, and it is the usual example
 * value in docs agents quote.
 */
const PLACEHOLDER_WORDS = new Set([
  'changeme', 'changeit', 'password', 'passwd', 'pass', 'pwd', 'passphrase', 'secret', 'secrets', 'token',
  'apikey', 'accesskey', 'secretkey', 'privatekey', 'key', 'credentials', 'auth',
  'yourapikey', 'yourkey', 'yourtoken', 'yourpassword', 'yoursecret', 'mypassword', 'mysecret',
  'mytoken', 'myapikey', 'example', 'sample', 'placeholder', 'redacted', 'hidden', 'masked',
  'removed', 'omitted', 'dummy', 'fake', 'test', 'todo', 'tbd', 'fixme', 'none', 'null', 'nil',
  'undefined', 'true', 'false', 'yes', 'no', 'on', 'off', 'empty', 'blank', 'required',
  'optional', 'notset', 'unset', 'default', 'string', 'str', 'number', 'int', 'integer', 'bool',
  'boolean', 'any', 'unknown', 'object', 'bytes', 'secretstr', 'text', 'value', 'foo', 'bar',
  'foobar', 'baz', 'replaceme', 'await', 'new', 'this', 'self', 'function', 'async', 'typeof',
  'require', 'import', 'return', 'const', 'let', 'var', 'env', 'environ', 'generated', 'random',
  'secretvalue', 'tokenvalue', 'xxx',
  // fetch()'s credentials modes: `credentials: 'include'` is an option, not a credential.
  'include', 'omit', 'sameorigin',
])

/** Does `value`, as written after a key or in a URL, stand for a secret rather than be one? */
export function isPlaceholderValue(value: string): boolean {
  const v = value.trim()
  if (v.length === 0) return true
  const first = v[0]
  // Already redacted (running twice must change nothing), or a reference to somewhere else:
  // $VAR ${VAR} $(cmd) %VAR% {{ tmpl }} <token> [your key].
  if (v.startsWith('[REDACTED')) return true
  if (first === '$' || first === '{') return true
  if (first === '%' && v.endsWith('%')) return true
  if (first === '<' && v.endsWith('>')) return true
  if (first === '[' && v.endsWith(']')) return true
  // Elided examples: "sk-...", "abc…xyz".
  if (v.includes('...') || v.includes('…')) return true
  // Masks: "****", "xxxx-xxxx", "••••".
  if (/^[xX*•#._-]+$/.test(v)) return true
  if (/^(.)\1*$/.test(v)) return true
  const normalized = v.toLowerCase().replace(/[\s_.-]/g, '')
  if (PLACEHOLDER_WORDS.has(normalized)) return true
  // "YOUR_API_KEY", "your-token-here", "<insert token>", "paste_key_here".
  if (/^(?:your|insert|enter|replace|paste|put)[\s_-]/i.test(v)) return true
  if (/[\s_-]here$/i.test(v)) return true
  if (/example|placeholder|changeme|redacted/i.test(v)) return true
  return looksFake(v)
}

/**
 * A token-shaped string that no generator would produce: a long run of one character
 * ("xxxxxxxx"), a counting sequence ("12345678", "abcdefgh"), or the word EXAMPLE (AWS's
 * documented keys). Runs of 8 keep the chance of rejecting a real random hex token below 1e-6.
 */
export function looksFake(body: string): boolean {
  let same = 1
  let up = 1
  let down = 1
  for (let i = 1; i < body.length; i++) {
    const prev = body.charCodeAt(i - 1)
    const cur = body.charCodeAt(i)
    same = cur === prev ? same + 1 : 1
    up = cur === prev + 1 ? up + 1 : 1
    down = cur === prev - 1 ? down + 1 : 1
    if (same >= 8 || up >= 8 || down >= 8) return true
  }
  return /example/i.test(body)
}
