// The secret redactor: every message's text and every string in its json payload pass through
// here before they are stored. See references/redaction.md for what it promises and what not.

import { compileCustomPattern } from './custom.js'
import { DETECTORS } from './detectors.js'
import { redactJsonValue } from './json.js'
import { Engine } from './redactor.js'

export interface CustomPattern { type: string; pattern: string; flags?: string } // operator-supplied, regex source
export interface Redactor {
  /** Replace every secret in `text`. `redactions`: unique types, in order of first appearance. */
  redactText(text: string): { text: string; redactions: string[] }
  /** Walk any JSON value (objects, arrays, nested), redact every string value (and string object keys are left as they are), return a new value; never mutate the input. */
  redactJson(value: unknown): { value: unknown; redactions: string[] }
}

export function createRedactor(options?: { extraPatterns?: CustomPattern[] }): Redactor {
  const extra = (options?.extraPatterns ?? []).map((p, i) => compileCustomPattern(p, `extraPatterns[${i}]`))
  const engine = new Engine([...DETECTORS, ...extra])
  const redactText = (text: string) => engine.redactText(text)
  return {
    redactText,
    redactJson: (value: unknown) => redactJsonValue(value, redactText),
  }
}

export { parseCustomPatterns } from './custom.js'
export { builtinTypes } from './detectors.js'
