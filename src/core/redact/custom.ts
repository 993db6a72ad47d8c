// Operator-supplied patterns (REDACTION_PATTERNS): parsed and checked once at start, so a typo
// stops the server with a clear message instead of silently redacting nothing.

import type { CustomPattern } from './index.js'
import { PRIORITY, type Detector, type Emit } from './types.js'

const TYPE = /^[a-z0-9_]{1,64}$/
/** We add g (scan all) and d (group offsets) ourselves; y would break the scan. */
const ALLOWED_FLAGS = /^[imsuv]*$/
const KNOWN_KEYS = new Set(['type', 'pattern', 'flags'])

function fail(where: string, problem: string): never {
  throw new Error(`${where}: ${problem}`.replace(/\s*\n\s*/g, ' '))
}

/**
 * A heuristic guard against the classic catastrophic shape: an unbounded quantifier applied to
 * a group that itself contains one, e.g. (a+)+, (\w+\s?)*, (?:x*y?)+. It cannot prove a pattern
 * linear (overlapping alternations like (a|a)* pass), but it catches the common mistake.
 */
export function nestedUnboundedQuantifier(source: string): boolean {
  const groups: boolean[] = [false] // per open group: contains an unbounded quantifier?
  let i = 0
  const unboundedAt = (at: number): boolean => {
    const c = source[at]
    if (c === '*' || c === '+') return true
    if (c === '{') return /^\{\d+,\}/.test(source.slice(at, at + 12))
    return false
  }
  while (i < source.length) {
    const c = source[i]
    if (c === '\\') {
      i += 2
    } else if (c === '[') {
      i++
      if (source[i] === '^') i++
      if (source[i] === ']') i++
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1
      i++
    } else if (c === '(') {
      groups.push(false)
      i++
    } else if (c === ')') {
      const inner = groups.pop() ?? false
      i++
      const outer = unboundedAt(i)
      if (inner && outer) return true
      if (groups.length === 0) groups.push(false)
      if (inner || outer) groups[groups.length - 1] = true
    } else {
      if (unboundedAt(i)) groups[groups.length - 1] = true
      i++
    }
  }
  return false
}

/** Check one pattern and build its detector. `where` names it in error messages. */
export function compileCustomPattern(p: CustomPattern, where: string): Detector {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) fail(where, 'expected an object {"type", "pattern", "flags"?}')
  for (const key of Object.keys(p)) if (!KNOWN_KEYS.has(key)) fail(where, `unknown field "${key}" (allowed: type, pattern, flags)`)
  if (typeof p.type !== 'string' || !TYPE.test(p.type)) {
    fail(where, `type ${JSON.stringify(p.type)} must be 1 to 64 characters of a-z, 0-9 and _`)
  }
  if (typeof p.pattern !== 'string' || p.pattern.length === 0) fail(where, 'pattern must be a non-empty string')
  const flags = p.flags ?? ''
  if (typeof flags !== 'string' || !ALLOWED_FLAGS.test(flags)) {
    fail(where, `flags ${JSON.stringify(p.flags)} may only contain i, m, s, u, v`)
  }
  let re: RegExp
  try {
    re = new RegExp(p.pattern, `${flags}gd`)
  } catch (err) {
    fail(where, `pattern does not compile: ${(err as Error).message}`)
  }
  if (re.test('')) fail(where, 'pattern matches the empty string')
  if (nestedUnboundedQuantifier(p.pattern)) {
    fail(where, 'pattern nests unbounded quantifiers, as in (a+)+, which can take exponential time; bound the inner one, e.g. (a{1,64})+')
  }
  // With a group named "secret", only that part is replaced (keep "key=" readable).
  const group = /\(\?<secret>/.test(p.pattern) ? 'secret' : null
  const type = p.type
  return {
    types: [type],
    anchors: [],
    priority: PRIORITY.custom,
    find(text: string, emit: Emit) {
      re.lastIndex = 0
      let m: RegExpExecArray | null
      while ((m = re.exec(text)) !== null) {
        if (m[0].length === 0) {
          re.lastIndex++
          continue
        }
        const span = group === null ? undefined : m.indices?.groups?.[group]
        if (span !== undefined) emit(span[0], span[1])
        else if (group === null) emit(m.index, m.index + m[0].length)
      }
    },
  }
}

/** Parse and validate the JSON the REDACTION_PATTERNS setting holds. Throws a one-line Error. */
export function parseCustomPatterns(json: string): CustomPattern[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (err) {
    fail('redaction patterns', `not valid JSON (${(err as Error).message})`)
  }
  if (!Array.isArray(parsed)) fail('redaction patterns', 'expected a JSON array of {"type", "pattern", "flags"?}')
  return parsed.map((item: unknown, index) => {
    const where = `redaction patterns[${index}]`
    compileCustomPattern(item as CustomPattern, where)
    const p = item as CustomPattern
    return p.flags === undefined ? { type: p.type, pattern: p.pattern } : { type: p.type, pattern: p.pattern, flags: p.flags }
  })
}
