import { nexusError } from './errors.js'
import { MAX_JSON_DEPTH, MAX_JSON_NODES } from './limits.js'

/**
 * Bounds on client JSON, checked by one iterative walk before anything recursive (zod's
 * `z.json()`, the redactor's copy, fast-json-stringify, JSON.stringify) ever sees the value. A
 * value nested thousands deep otherwise costs depth² to serialize or overflows the stack in the
 * middle of a reply, and a value of many tiny nodes costs forty times its text in heap.
 *
 * Depth counts arrays and objects: `[]` is 1 deep, `[[]]` is 2, a bare string is 0. Nodes count
 * every value (containers and scalars; keys are not values).
 */

export interface JsonMeasure {
  /** The UTF-8 length of JSON.stringify(value): what it costs on the wire. */
  bytes: number
  nodes: number
}

export interface JsonBounds {
  maxDepth: number
  maxNodes: number
  /** The walk stops counting once the bytes pass this (the answer is then only "too large"). */
  maxBytes?: number
}

export type JsonVerdict = ({ ok: true } & JsonMeasure) | { ok: false; problem: 'depth' | 'nodes' | 'bytes' }

/** The UTF-8 length of a string as JSON writes it: quotes and escapes (`\u0001` is six bytes) included. */
export function escapedBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text))
}

/** One container being walked: its remaining children, and whether it is an object (keys cost bytes). */
interface Frame {
  values: unknown[]
  keys: string[] | null
  index: number
}

/**
 * Measures `value` without recursion, giving up at the first bound passed. The byte count equals
 * Buffer.byteLength(JSON.stringify(value)) for any JSON value (what JSON.parse can produce).
 */
export function measureJson(value: unknown, bounds: JsonBounds): JsonVerdict {
  const maxBytes = bounds.maxBytes ?? Number.POSITIVE_INFINITY
  let bytes = 0
  let nodes = 0
  const stack: Frame[] = []
  let next: unknown = value
  let pending = true
  for (;;) {
    if (pending) {
      pending = false
      if (++nodes > bounds.maxNodes) return { ok: false, problem: 'nodes' }
      if (next !== null && typeof next === 'object') {
        if (stack.length + 1 > bounds.maxDepth) return { ok: false, problem: 'depth' }
        if (Array.isArray(next)) stack.push({ values: next, keys: null, index: 0 })
        else {
          const keys = Object.keys(next)
          stack.push({ values: keys.map((key) => (next as Record<string, unknown>)[key]), keys, index: 0 })
        }
        bytes += 2 // the brackets
      } else {
        bytes += scalarBytes(next)
      }
      if (bytes > maxBytes) return { ok: false, problem: 'bytes' }
    }
    const frame = stack.at(-1)
    if (!frame) return { ok: true, bytes, nodes }
    if (frame.index >= frame.values.length) {
      stack.pop()
      continue
    }
    const i = frame.index++
    if (i > 0) bytes += 1 // the comma
    if (frame.keys !== null) bytes += escapedBytes(frame.keys[i]!) + 1 // the key and its colon
    next = frame.values[i]
    pending = true
  }
}

function scalarBytes(value: unknown): number {
  if (typeof value === 'string') return escapedBytes(value)
  // Numbers, booleans and null as JSON writes them (a non-finite number, never parsed from JSON, as null).
  return (JSON.stringify(value) ?? 'null').length
}

/** What a refusal says, naming the limit, for `where` (`json`, `the body`, `the frame`). */
export function boundsError(problem: 'depth' | 'nodes', where: string, limits = { maxDepth: MAX_JSON_DEPTH, maxNodes: MAX_JSON_NODES }) {
  const message = problem === 'depth'
    ? `JSON may nest at most ${limits.maxDepth} levels of arrays and objects; ${where} nests deeper.`
    : `JSON may hold at most ${limits.maxNodes} values; ${where} holds more.`
  return nexusError('invalid_request', message, { details: [{ path: where === 'json' ? 'body.json' : 'body', message }] })
}

/**
 * For a way in, before its own (recursive) schema check: the whole body or frame, which holds a
 * message's `json` one level down beside a few other fields, so it is allowed one level and a
 * few values more than `json` itself; the core then checks `json` exactly.
 */
export function checkEnvelopeBounds(value: unknown, where: string): void {
  if (value === null || typeof value !== 'object') return
  const verdict = measureJson(value, { maxDepth: MAX_JSON_DEPTH + 1, maxNodes: MAX_JSON_NODES + ENVELOPE_VALUES })
  if (!verdict.ok && verdict.problem !== 'bytes') throw boundsError(verdict.problem, where)
}

/** Values a body or frame may hold beside a message's `json` (its type, ids, text, ...). */
const ENVELOPE_VALUES = 32
