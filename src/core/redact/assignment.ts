// Generic `key = value` secrets: env files, JSON, YAML, code, query strings, headers and long
// CLI flags. Only the VALUE is redacted, so the reader still sees which setting it was.
//
// Written as a small hand scanner rather than one regex: the key name decides (password_hash is
// not a password), quoting decides where the value ends, and the scan must stay linear on
// hostile input (thousands of `password=` with nothing after them).

import { classifyKey, type KeyRule } from './keys.js'
import { isPlaceholderValue } from './placeholder.js'
import { PRIORITY, type Detector, type Emit } from './types.js'

/** Longest key name we look at; longer runs are identifiers soup or data, not settings. */
const MAX_KEY = 64
/** Longest value we redact as one secret; quoted longer values are documents, not passwords. */
const MAX_VALUE = 512
const MAX_SPACES = 8

/** Every secret-holding key name contains one of these (see keys.ts). */
const KEYWORD = /pass|pw|secret|token|key|auth|cred/gi
const FLAG = /(?<![A-Za-z0-9_-])--([A-Za-z][A-Za-z0-9-]{0,40})[ \t]{1,4}(?=[^\s-])/g

const enum C {
  Tab = 9, Lf = 10, Cr = 13, Space = 32, Bang = 33, Quote = 34, Hash = 35, Dollar = 36,
  Amp = 38, Apos = 39, LParen = 40, RParen = 41, Star = 42, Comma = 44, Dash = 45, Dot = 46,
  Slash = 47, Colon = 58, Semi = 59, Lt = 60, Eq = 61, Gt = 62, Question = 63, LBracket = 91,
  Backslash = 92, RBracket = 93, Underscore = 95, Backtick = 96, LBrace = 123, Pipe = 124,
  RBrace = 125,
}

function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
    c === C.Underscore || c === C.Dash || c === C.Dot
}

function isSpace(c: number): boolean {
  return c === C.Space || c === C.Tab
}

function isWhitespace(c: number): boolean {
  return c === C.Space || c === C.Tab || c === C.Lf || c === C.Cr || c === 12 || c === 11
}

/** Characters that may sit between a key and its separator: `"key":`, `**Key**:`, `["key"]=`. */
function isKeyCloser(c: number): boolean {
  return c === C.Quote || c === C.Apos || c === C.Backtick || c === C.Star || c === C.Backslash ||
    c === C.RBracket
}

/** Where an unquoted value ends inside a line of code, a URL or a connection string. */
function isInlineTerminator(c: number): boolean {
  return isWhitespace(c) || c === C.Quote || c === C.Apos || c === C.Backtick || c === C.Comma ||
    c === C.Semi || c === C.Amp || c === C.Lt || c === C.Gt || c === C.LParen || c === C.RParen ||
    c === C.LBracket || c === C.RBracket || c === C.LBrace || c === C.RBrace || c === C.Pipe
}

type Context = 'line' | 'inline' | 'prose'

/**
 * What precedes the key on its line tells how to read the value: at the start of a line (env,
 * YAML, INI) a value runs to the next space; inside code or a URL it also stops at , ; & ) and
 * friends; after ordinary words ("my password: ...") it is prose, where a bare word is not taken.
 */
function contextOf(text: string, keyStart: number): Context {
  let i = keyStart - 1
  const stop = Math.max(0, keyStart - 120)
  while (i >= stop && isSpace(text.charCodeAt(i))) i--
  if (i < 0 || text.charCodeAt(i) === C.Lf || text.charCodeAt(i) === C.Cr) return 'line'
  const c = text.charCodeAt(i)
  if (c === C.LBrace || c === C.Comma || c === C.LParen || c === C.LBracket || c === C.Semi ||
    c === C.Amp || c === C.Question || c === C.Pipe || c === C.Quote || c === C.Apos ||
    c === C.Backtick || c === C.Dollar) return 'inline'
  // `export X=`, `- password: x` (YAML list), `const token = ...`: still the start of a statement.
  // Such prefixes are short, so a long run of words before the key is prose without looking.
  let lineStart = i
  const near = Math.max(0, keyStart - 40)
  while (lineStart >= near && text.charCodeAt(lineStart) !== C.Lf) lineStart--
  if (lineStart >= near || lineStart < 0) {
    const prefix = text.slice(lineStart + 1, keyStart)
    if (/^\s*(?:(?:export|set|setx|declare|local|readonly|ENV|ARG|const|let|var|val|final|private|public|static)\s+|[-*+>]\s+|\d+\.\s+)*$/.test(prefix)) return 'line'
  }
  return 'prose'
}

/** Shared by text and JSON: is this value, under a key that names a secret, worth hiding? */
export function acceptsValue(
  value: string,
  rule: KeyRule,
  opts: { quoted: boolean; context: Context; maxLength?: number },
): boolean {
  if (value.length < 4 || value.length > (opts.maxLength ?? MAX_VALUE)) return false
  if (isPlaceholderValue(value)) return false
  if (rule.valueShape !== undefined && !rule.valueShape.test(value)) return false
  // A URL under a secret key ("token_url", "secret: https://vault/...") is an address; any
  // password inside it is the URL detector's job and keeps the host readable.
  if (/^[a-z][a-z0-9+.-]{1,30}:\/\//i.test(value)) return false
  // PWD=/home/me in an env dump is the working directory.
  if (rule.word === 'pwd' && (value[0] === '/' || value[0] === '~')) return false
  if (opts.quoted) return true
  // Code, not a literal: a call or index (getenv("X"), os.environ["X"]), a member path
  // (process.env.TOKEN), a variable named after the key (password = userPassword).
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*[([]/.test(value)) return false
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value)) return false
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(value) && (/_|[a-z][A-Z]/.test(value)) &&
    value.toLowerCase().includes(rule.word)) return false
  // YAML tags, aliases and anchors (!Ref, *default, &pw) point at values defined elsewhere.
  if (/^[!*&][A-Za-z_]/.test(value)) return false
  // "The secret: nobody knows" is a sentence; a secret in prose has a digit, a symbol or case.
  if (opts.context === 'prose' && /^[A-Za-z][a-z]*$/.test(value)) return false
  return true
}

interface Value {
  start: number
  end: number
  /** Where scanning may resume; past the closing quote when there was one. */
  next: number
  quoted: boolean
}

/**
 * Read the value that starts at `from` (spaces already allowed). Bounded: gives up after
 * MAX_VALUE characters, returning `next` past what it read so a blob is scanned once.
 */
function readValue(text: string, from: number, context: Context): Value | null {
  let v = from
  let spaces = 0
  while (v < text.length && isSpace(text.charCodeAt(v)) && spaces < MAX_SPACES) { v++; spaces++ }
  if (v >= text.length) return null
  let c = text.charCodeAt(v)
  let escapedQuotes = false
  if (c === C.Backslash) {
    const q = text.charCodeAt(v + 1)
    if (q === C.Quote || q === C.Apos) { escapedQuotes = true; c = q; v++ }
  }
  if (c === C.Quote || c === C.Apos || c === C.Backtick) {
    const start = v + 1
    const limit = Math.min(text.length, start + MAX_VALUE + 1)
    for (let i = start; i < limit; i++) {
      const ch = text.charCodeAt(i)
      if (ch === C.Lf || ch === C.Cr) return { start, end: start, next: i, quoted: true }
      if (ch === C.Backslash) {
        if (escapedQuotes && text.charCodeAt(i + 1) === c) return { start, end: i, next: i + 2, quoted: true }
        i++
        continue
      }
      if (ch === c && !escapedQuotes) return { start, end: i, next: i + 1, quoted: true }
    }
    return { start, end: start, next: limit, quoted: true }
  }
  const start = v
  const limit = Math.min(text.length, start + MAX_VALUE + 1)
  // `<your key here>` is one placeholder even with spaces in it: read it to its '>' so the
  // placeholder check sees all of it, not "<your".
  if (c === C.Lt) {
    for (let i = start + 1; i < limit; i++) {
      const ch = text.charCodeAt(i)
      if (ch === C.Lf || ch === C.Cr) break
      if (ch === C.Gt) return { start, end: i + 1, next: i + 1, quoted: false }
    }
  }
  let i = start
  if (context === 'line') {
    while (i < limit && !isWhitespace(text.charCodeAt(i))) i++
  } else {
    while (i < limit && !isInlineTerminator(text.charCodeAt(i))) i++
  }
  if (i === limit && limit - start > MAX_VALUE) {
    // A run this long with no break is data; skip all of it so its inner "=" are not rescanned.
    while (i < text.length && !isWhitespace(text.charCodeAt(i))) i++
    return { start, end: start, next: i, quoted: false }
  }
  let end = i
  // Sentence or statement punctuation is not part of the value: "password=x." / "token: string;"
  while (end > start) {
    const last = text.charCodeAt(end - 1)
    if (last === C.Dot || last === C.Comma || last === C.Semi || last === C.Bang || last === C.Question || last === C.Colon) end--
    else break
  }
  // An ellipsis is not punctuation but elision ("ghp_...", "sk-..."): keep it, so the value
  // reads as the placeholder it is.
  if (text.slice(end, i).includes('..')) end = i
  // (An env or YAML comment needs a space before its "#", so the value has already ended.)
  return { start, end, next: i, quoted: false }
}

/** `password=` followed by nothing on its line: the common empty template, settled cheaply. */
function nothingAfter(text: string, from: number): boolean {
  let i = from
  while (i < text.length && isSpace(text.charCodeAt(i))) i++
  if (i >= text.length) return true
  const c = text.charCodeAt(i)
  return c === C.Lf || c === C.Cr
}

/** Skip from the end of a key to its separator; returns where the value starts, or -1. */
function separatorAfter(text: string, keyEnd: number): number {
  let i = keyEnd
  let closers = 0
  while (i < text.length && closers < 4 && isKeyCloser(text.charCodeAt(i))) { i++; closers++ }
  let spaces = 0
  while (i < text.length && isSpace(text.charCodeAt(i)) && spaces < MAX_SPACES) { i++; spaces++ }
  const c = text.charCodeAt(i)
  const next = text.charCodeAt(i + 1)
  if (c === C.Colon) {
    if (next === C.Colon || next === C.Slash) return -1 // Foo::bar, scheme://
    return next === C.Eq ? i + 2 : i + 1 // Go's :=
  }
  if (c === C.Eq) {
    if (next === C.Eq) return -1 // == and ===
    return next === C.Gt ? i + 2 : i + 1 // PHP and Ruby's =>
  }
  return -1
}

function scanAssignments(text: string, emit: Emit): void {
  const re = KEYWORD
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const hit = m.index
    // The key is the run of name characters around the keyword, at most MAX_KEY long.
    let keyStart = hit
    while (keyStart > 0 && hit - keyStart < MAX_KEY && isKeyChar(text.charCodeAt(keyStart - 1))) keyStart--
    let keyEnd = hit
    while (keyEnd < text.length && keyEnd - keyStart <= MAX_KEY && isKeyChar(text.charCodeAt(keyEnd))) keyEnd++
    if (keyEnd - keyStart > MAX_KEY || (keyStart > 0 && isKeyChar(text.charCodeAt(keyStart - 1)))) {
      // Too long to be a key name: skip the whole run once, keeping the scan linear.
      while (keyEnd < text.length && isKeyChar(text.charCodeAt(keyEnd))) keyEnd++
      re.lastIndex = keyEnd
      continue
    }
    re.lastIndex = keyEnd
    // `https://x-access-token:<pw>@host`: user info of a URL is the URL detector's, which knows
    // where the password ends.
    if (keyStart >= 3 && text.startsWith('://', keyStart - 3)) continue
    // Cheapest test first: most keywords in chat ("the key issue") have no separator after them.
    const valueFrom = separatorAfter(text, keyEnd)
    if (valueFrom < 0) continue
    const rule = classifyKey(text.slice(keyStart, keyEnd))
    if (rule === null) continue
    if (nothingAfter(text, valueFrom)) continue
    const context = contextOf(text, keyStart)
    let value = readValue(text, valueFrom, context)
    if (value === null) continue
    // Python / TypeScript annotations: `password: str = "hunter2"`: the literal follows the type.
    if (!value.quoted && /^[A-Za-z_][\w.[\]|]*$/.test(text.slice(value.start, value.end))) {
      const after = separatorAfter(text, value.next)
      if (after >= 0 && text.charCodeAt(after - 1) === C.Eq) {
        const annotated = readValue(text, after, context)
        if (annotated !== null) value = annotated
      }
    }
    const literal = text.slice(value.start, value.end)
    const followedBy = text.charCodeAt(value.end)
    if (!value.quoted && followedBy === C.LParen) { re.lastIndex = Math.max(re.lastIndex, value.next); continue }
    if (acceptsValue(literal, rule, { quoted: value.quoted, context })) {
      emit(value.start, value.end, rule.type)
    }
    re.lastIndex = Math.max(re.lastIndex, value.next)
  }
}

/** `--password hunter2`, `--api-key "..."`: a long flag whose name is a secret key, then a value. */
function scanFlags(text: string, emit: Emit): void {
  const re = FLAG
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const rule = classifyKey(m[1] as string)
    if (rule === null) continue
    const value = readValue(text, m.index + m[0].length, 'inline')
    if (value === null) continue
    if (acceptsValue(text.slice(value.start, value.end), rule, { quoted: value.quoted, context: 'inline' })) {
      emit(value.start, value.end, rule.type)
    }
    re.lastIndex = Math.max(re.lastIndex, value.next)
  }
}

export const assignmentDetector: Detector = {
  types: ['password', 'secret', 'token', 'api_key'],
  anchors: ['pass', 'pw', 'secret', 'token', 'key', 'auth', 'cred'],
  anchorsIgnoreCase: true,
  priority: PRIORITY.generic,
  find(text, emit) {
    scanAssignments(text, emit)
    scanFlags(text, emit)
  },
}
