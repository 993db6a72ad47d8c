// The engine: prefilter, run the selected detectors, merge overlapping findings, splice in the
// [REDACTED:<type>] markers. Compiled once per createRedactor; redactText runs per message.

import { Prefilter } from './prefilter.js'
import type { Detector } from './types.js'

export interface TextResult {
  text: string
  redactions: string[]
}

/**
 * Findings as parallel arrays rather than one object each: a hostile text can hold tens of
 * thousands of them, and the garbage collector then dominates the scan.
 */
class Findings {
  starts: number[] = []
  ends: number[] = []
  priorities: number[] = []
  types: string[] = []

  get length(): number {
    return this.starts.length
  }

  push(start: number, end: number, priority: number, type: string): void {
    this.starts.push(start)
    this.ends.push(end)
    this.priorities.push(priority)
    this.types.push(type)
  }
}

/**
 * base64 data URIs (inline images, files) are long runs of random characters in which some
 * vendor prefix ("EAAA", "AIza") occurs by chance: nothing inside one is reported.
 */
const DATA_URI = /data:[A-Za-z0-9.+/-]{1,100}(?:;[A-Za-z0-9=.+-]{1,100}){0,4};base64,[A-Za-z0-9+/=]*/g
const MARKER_OPEN = '[REDACTED:'

/**
 * Spans in which nothing is reported, as [start, end, start, end, …] sorted by start: data URIs,
 * and the markers of an earlier redaction, so that redacting twice changes nothing
 * ("https://[REDACTED:sentry_dsn]@host" is not user "[REDACTED", password "sentry_dsn]").
 * The two kinds never overlap (a marker's "[" cannot occur inside base64).
 */
function protectedSpans(text: string): number[] {
  const spans: number[] = []
  if (text.includes(';base64,')) {
    DATA_URI.lastIndex = 0
    let m: RegExpExecArray | null
    while ((m = DATA_URI.exec(text)) !== null) spans.push(m.index, m.index + m[0].length)
  }
  let at = text.indexOf(MARKER_OPEN)
  if (at < 0) return spans
  const markers: number[] = []
  while (at >= 0) {
    let i = at + MARKER_OPEN.length
    const limit = Math.min(text.length, i + 65)
    while (i < limit && /[a-z0-9_]/.test(text[i] as string)) i++
    if (text[i] === ']' && i > at + MARKER_OPEN.length) markers.push(at, i + 1)
    at = text.indexOf(MARKER_OPEN, i)
  }
  if (spans.length === 0) return markers
  // Merge the two sorted lists.
  const merged: number[] = []
  let a = 0
  let b = 0
  while (a < spans.length || b < markers.length) {
    if (b >= markers.length || (a < spans.length && (spans[a] as number) <= (markers[b] as number))) {
      merged.push(spans[a] as number, spans[a + 1] as number)
      a += 2
    } else {
      merged.push(markers[b] as number, markers[b + 1] as number)
      b += 2
    }
  }
  return merged
}

export class Engine {
  private readonly prefilter: Prefilter

  constructor(private readonly detectors: readonly Detector[]) {
    this.prefilter = new Prefilter(detectors)
  }

  redactText(text: string): TextResult {
    if (text.length === 0) return { text, redactions: [] }
    const selected = this.prefilter.select(text)
    if (selected.length === 0) return { text, redactions: [] }

    const findings = new Findings()
    for (const index of selected) {
      const detector = this.detectors[index] as Detector
      const fallback = detector.types[0] as string
      const priority = detector.priority
      detector.find(text, (start, end, type) => {
        if (end > start) findings.push(start, end, priority, type ?? fallback)
      })
    }
    if (findings.length === 0) return { text, redactions: [] }
    return splice(text, findings, protectedSpans(text))
  }
}

/**
 * Sort, drop what lies inside a protected span, merge what overlaps, and build the new text.
 * Overlapping findings become one redaction covering all of them (never leave part of a secret
 * visible because two detectors disagreed on its edges), named by the most specific finding:
 * higher priority, then the longer finding.
 */
function splice(text: string, f: Findings, spans: number[]): TextResult {
  const order = Array.from({ length: f.length }, (_, i) => i)
  order.sort((x, y) => (f.starts[x] as number) - (f.starts[y] as number) || (f.ends[y] as number) - (f.ends[x] as number))

  const parts: string[] = []
  const redactions: string[] = []
  let written = 0
  let curStart = -1
  let curEnd = -1
  let label = -1
  let span = -2 // index into `spans` of the last span starting at or before the finding
  const flush = () => {
    if (label < 0) return
    const type = f.types[label] as string
    parts.push(text.slice(written, curStart), `[REDACTED:${type}]`)
    if (!redactions.includes(type)) redactions.push(type)
    written = curEnd
  }
  for (const i of order) {
    const start = f.starts[i] as number
    const end = f.ends[i] as number
    while (span + 2 < spans.length && (spans[span + 2] as number) <= start) span += 2
    if (span >= 0 && end <= (spans[span + 1] as number)) continue
    if (label >= 0 && start < curEnd) {
      if (end > curEnd) curEnd = end
      const better = (f.priorities[i] as number) - (f.priorities[label] as number) ||
        (end - start) - ((f.ends[label] as number) - (f.starts[label] as number))
      if (better > 0) label = i
      continue
    }
    flush()
    curStart = start
    curEnd = end
    label = i
  }
  flush()
  if (parts.length === 0) return { text, redactions: [] }
  parts.push(text.slice(written))
  return { text: parts.join(''), redactions }
}
