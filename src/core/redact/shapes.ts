// Builders for the detector table: most detectors are one regex plus a check, and these keep
// the linear-time rules in one place instead of in eighty hand-written patterns.
//
// The rules every built pattern follows (JavaScript regexes backtrack):
// - a lookbehind on the token's own alphabet, so a match can only start at the beginning of a
//   run of token characters: "ghp_ghp_ghp_..." is tried once, not once per "ghp_";
// - bounded quantifiers over that alphabet, followed by a lookahead on the same alphabet, so a
//   failed attempt costs at most the bound and never re-scans a neighbour's run.

import { looksFake } from './placeholder.js'
import { PRIORITY, type Detector, type Emit } from './types.js'

export function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

export interface RegexSpec {
  type: string
  /** Prefilter literals (see Detector.anchors). */
  anchors: readonly string[]
  pattern: RegExp
  /** Capture group holding the secret when only part of the match is secret; 0 = all of it. */
  group?: number
  /** Keep a candidate? Gets the secret text and the match. Default: reject obvious fakes. */
  validate?: (secret: string, match: RegExpExecArray) => boolean
  priority?: number
}

export function regexDetector(spec: RegexSpec): Detector {
  const group = spec.group ?? 0
  const flags = new Set(spec.pattern.flags.split(''))
  flags.add('g')
  if (group > 0) flags.add('d')
  const re = new RegExp(spec.pattern.source, [...flags].join(''))
  const validate = spec.validate ?? ((secret: string) => !looksFake(secret))
  return {
    types: [spec.type],
    anchors: spec.anchors,
    anchorsIgnoreCase: re.ignoreCase,
    priority: spec.priority ?? PRIORITY.structured,
    find(text: string, emit: Emit) {
      re.lastIndex = 0
      let m: RegExpExecArray | null
      while ((m = re.exec(text)) !== null) {
        let start = m.index
        let end = start + m[0].length
        if (group > 0) {
          const span = m.indices?.[group]
          if (span === undefined) continue
          start = span[0]
          end = span[1]
        }
        if (end > start && validate(text.slice(start, end), m)) emit(start, end)
        if (m[0].length === 0) re.lastIndex++
      }
    },
  }
}

export interface TokenSpec {
  type: string
  /** Literal prefixes that start the token; they are also its prefilter anchors. */
  prefixes: readonly string[]
  /** Regex source for what follows the prefix. */
  body: string
  /** Character-class contents of the token's alphabet (boundaries on both sides). */
  alphabet?: string
  /**
   * Boundary before the prefix when it must differ from `alphabet`: tokens that may contain or
   * end with "=" still follow "KEY=" in env files.
   */
  before?: string
  /** Checks on the part after the prefix; default: not an obvious fake. */
  validate?: (body: string, token: string) => boolean
  priority?: number
}

/** A token recognised by its own prefix and shape: `ghp_…`, `xoxb-…`, `sk_live_…`. */
export function token(spec: TokenSpec): Detector {
  const alphabet = spec.alphabet ?? 'A-Za-z0-9_'
  const prefixes = spec.prefixes.map(escapeRegex).join('|')
  const before = spec.before ?? alphabet
  const pattern = new RegExp(`(?<![${before}])(?:${prefixes})(${spec.body})(?![${alphabet}])`, 'dg')
  const validate = spec.validate ?? ((body: string) => !looksFake(body))
  return regexDetector({
    type: spec.type,
    anchors: spec.prefixes,
    pattern,
    priority: spec.priority ?? PRIORITY.structured,
    validate: (secret, m) => validate(m[1] ?? '', secret),
  })
}

export interface ContextSpec {
  type: string
  /** Prefilter literals: fragments every key spelling contains. */
  anchors: readonly string[]
  /** Regex source (case-insensitive) of the key name, e.g. `dd[_-]?api[_-]?key`. */
  key: string
  /** Regex source of the value; only this part is redacted. */
  value: string
  /** Character-class contents of the value's alphabet, for its boundaries. */
  alphabet: string
}

/**
 * A secret with no prefix of its own, recognised by the key it is assigned to:
 * `DD_API_KEY=…`, `"SecretAccessKey": "…"`, `cohere.Client(api_key="…")`.
 */
export function contextual(spec: ContextSpec): Detector {
  const pattern = new RegExp(
    `(?<![A-Za-z0-9])(?:${spec.key})[A-Za-z0-9_.-]{0,24}\\\\?["'\\]]?[ \\t]{0,4}(?:=>|:=|[:=(,])[ \\t]{0,4}` +
      `(?:[A-Za-z_]{1,16}[ \\t]{0,2}=[ \\t]{0,2})?\\\\?["'\`]?(${spec.value})(?![${spec.alphabet}])`,
    'dgi',
  )
  return regexDetector({
    type: spec.type,
    anchors: spec.anchors,
    pattern,
    group: 1,
    priority: PRIORITY.contextual,
  })
}
