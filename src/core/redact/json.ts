// Redaction of `json` payloads: every string anywhere in the value goes through the text
// redactor; a string under a key that names a secret ({"password": "hunter2"}) is replaced
// whole, as `password: hunter2` would be in text. The input is never mutated.

import { acceptsValue } from './assignment.js'
import { classifyKey } from './keys.js'
import type { TextResult } from './redactor.js'

/** A secret under a secret-named key can be long (a PEM, a service-account blob). */
const MAX_KEYED_VALUE = 65536

interface Frame {
  source: Record<string, unknown> | unknown[]
  target: Record<string, unknown> | unknown[]
  keys: string[] | null
  index: number
  /** The key this container sits under; array items inherit it ({"tokens": [...]}) */
  contextKey: string | null
}

/** Assign without triggering the `__proto__` setter a JSON.parse'd key may name. */
function put(target: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    ;(target as Record<string, unknown>)[key as string] = value
  }
}

function emptyLike(value: object): Record<string, unknown> | unknown[] {
  return Array.isArray(value) ? new Array<unknown>(value.length) : {}
}

export function redactJsonValue(
  value: unknown,
  redactText: (text: string) => TextResult,
): { value: unknown; redactions: string[] } {
  const redactions: string[] = []
  const note = (types: readonly string[]) => {
    for (const t of types) if (!redactions.includes(t)) redactions.push(t)
  }
  const redactString = (text: string, key: string | null): string => {
    const result = redactText(text)
    if (result.redactions.length > 0) {
      note(result.redactions)
      return result.text
    }
    const rule = key === null ? null : classifyKey(key)
    if (rule !== null && acceptsValue(text, rule, { quoted: true, context: 'inline', maxLength: MAX_KEYED_VALUE })) {
      note([rule.type])
      return `[REDACTED:${rule.type}]`
    }
    return text
  }

  if (typeof value === 'string') return { value: redactString(value, null), redactions }
  if (value === null || typeof value !== 'object') return { value, redactions }

  // An explicit stack instead of recursion: a deeply nested payload must not overflow the
  // call stack, and the walk stays in document order so `redactions` lists types as they appear.
  const root = emptyLike(value)
  const ancestors = new Set<object>([value])
  const stack: Frame[] = [{
    source: value as Record<string, unknown>,
    target: root,
    keys: Array.isArray(value) ? null : Object.keys(value),
    index: 0,
    contextKey: null,
  }]
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame
    const length = frame.keys === null ? (frame.source as unknown[]).length : frame.keys.length
    if (frame.index >= length) {
      ancestors.delete(frame.source)
      stack.pop()
      continue
    }
    const i = frame.index++
    const key = frame.keys === null ? i : (frame.keys[i] as string)
    const contextKey = frame.keys === null ? frame.contextKey : (key as string)
    const child = (frame.source as Record<string, unknown>)[key as string]
    if (typeof child === 'string') {
      put(frame.target, key, redactString(child, contextKey))
    } else if (child !== null && typeof child === 'object') {
      if (ancestors.has(child)) throw new TypeError('redactJson: the value contains a cycle')
      ancestors.add(child)
      const copy = emptyLike(child)
      put(frame.target, key, copy)
      stack.push({
        source: child as Record<string, unknown>,
        target: copy,
        keys: Array.isArray(child) ? null : Object.keys(child),
        index: 0,
        contextKey,
      })
    } else {
      put(frame.target, key, child)
    }
  }
  return { value: root, redactions }
}
