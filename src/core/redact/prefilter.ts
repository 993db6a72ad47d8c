// The cheap first pass: one scan over the text tells which detectors can possibly match,
// because each declares literal anchors ("ghp_", "-----BEGIN", "password") that a match must
// contain. Ordinary chat trips few of them, so most messages cost this scan and little else.
//
// Why a hand-written scan: a regex alternation of ~150 literals runs at ~150 MB/s in V8 (it
// tries every alternative's first character at every position), and 150 `includes` calls are
// slower still. A table indexed by the two characters at each position (every anchor is at
// least two characters long) rejects almost every position with one array read.

export interface Anchored {
  readonly anchors: readonly string[]
  readonly anchorsIgnoreCase?: boolean
}

interface Candidate {
  id: number
  /** Lower-cased when ignoreCase. */
  anchor: string
  ignoreCase: boolean
  detectors: number[]
}

function caseVariants(code: number, ignoreCase: boolean): number[] {
  if (!ignoreCase) return [code]
  const ch = String.fromCharCode(code)
  const lower = ch.toLowerCase().charCodeAt(0)
  const upper = ch.toUpperCase().charCodeAt(0)
  return lower === upper ? [lower] : [lower, upper]
}

/** Does `c.anchor` occur at `pos`? The first two characters are known to match already. */
function matchesAt(text: string, pos: number, c: Candidate): boolean {
  const a = c.anchor
  if (pos + a.length > text.length) return false
  if (!c.ignoreCase) return text.startsWith(a, pos)
  for (let k = 2; k < a.length; k++) {
    let ch = text.charCodeAt(pos + k)
    if (ch >= 65 && ch <= 90) ch |= 32
    if (ch !== a.charCodeAt(k)) return false
  }
  return true
}

export class Prefilter {
  /** (first char << 7 | second char) → index into `groups`, 0 for "no anchor starts so". */
  private readonly table = new Uint16Array(1 << 14)
  private readonly groups: Candidate[][] = [[]]
  /**
   * Per group, 128 bits: which third characters any of its anchors has. Common bigrams ("to",
   * "se", "ke") start many English words; checking the third character ("tok", "sec", "key")
   * before comparing whole anchors keeps such positions cheap. Two-character anchors set all bits.
   */
  private thirds = new Uint32Array(4)
  private readonly candidates: Candidate[] = []
  private readonly always: number[] = []
  private readonly total: number
  /**
   * Scratch marks reused across calls (allocating typed arrays per message costs more than the
   * scan of a short message): an entry equals `generation` when marked in the current call.
   */
  private seen: Uint32Array
  private done: Uint32Array
  private generation = 0

  constructor(detectors: readonly Anchored[]) {
    this.total = detectors.length
    const byKey = new Map<string, Candidate>()
    detectors.forEach((d, index) => {
      if (d.anchors.length === 0) this.always.push(index)
      const ignoreCase = d.anchorsIgnoreCase === true
      for (const raw of d.anchors) {
        if (raw.length < 2 || /[^\x20-\x7e]/.test(raw)) {
          throw new Error(`redaction anchor ${JSON.stringify(raw)} must be 2+ printable ASCII characters`)
        }
        const anchor = ignoreCase ? raw.toLowerCase() : raw
        const key = `${ignoreCase ? 'i' : 'c'}:${anchor}`
        let c = byKey.get(key)
        if (c === undefined) {
          c = { id: this.candidates.length, anchor, ignoreCase, detectors: [] }
          byKey.set(key, c)
          this.candidates.push(c)
          for (const first of caseVariants(anchor.charCodeAt(0), ignoreCase)) {
            for (const second of caseVariants(anchor.charCodeAt(1), ignoreCase)) this.addToTable(first, second, c)
          }
        }
        if (!c.detectors.includes(index)) c.detectors.push(index)
      }
    })
    this.seen = new Uint32Array(this.total)
    this.done = new Uint32Array(this.candidates.length)
  }

  private addToTable(first: number, second: number, c: Candidate): void {
    const slot = (first << 7) | second
    let group = this.table[slot] as number
    if (group === 0) {
      group = this.groups.length
      this.groups.push([])
      this.table[slot] = group
      if (this.thirds.length < (group + 1) * 4) {
        const grown = new Uint32Array(this.thirds.length * 2)
        grown.set(this.thirds)
        this.thirds = grown
      }
    }
    ;(this.groups[group] as Candidate[]).push(c)
    if (c.anchor.length === 2) {
      this.thirds.fill(0xffffffff, group * 4, group * 4 + 4)
    } else {
      for (const third of caseVariants(c.anchor.charCodeAt(2), c.ignoreCase)) {
        this.thirds[group * 4 + (third >> 5)] = ((this.thirds[group * 4 + (third >> 5)] as number) | (1 << (third & 31))) >>> 0
      }
    }
  }

  /** Indices of the detectors worth running on `text`. */
  select(text: string): number[] {
    const selected = this.always.slice()
    if (selected.length === this.total || text.length < 2) return selected
    if (this.generation === 0xffffffff) {
      this.generation = 0
      this.seen.fill(0)
      this.done.fill(0)
    }
    const mark = ++this.generation
    const seen = this.seen
    const done = this.done
    for (const i of selected) seen[i] = mark
    const table = this.table
    const groups = this.groups
    const thirds = this.thirds
    let prev = text.charCodeAt(0)
    for (let i = 1; i < text.length; i++) {
      const cur = text.charCodeAt(i)
      if ((prev | cur) < 128) {
        const group = table[(prev << 7) | cur] as number
        if (group !== 0) {
          // NaN past the end and non-ASCII both fall to 127's bit, which only 2-char anchors set.
          const next = text.charCodeAt(i + 1)
          const third = next < 128 ? next : 127
          if ((((thirds[group * 4 + (third >> 5)] as number) >>> (third & 31)) & 1) === 0) {
            prev = cur
            continue
          }
          for (const c of groups[group] as Candidate[]) {
            if (done[c.id] === mark || !matchesAt(text, i - 1, c)) continue
            done[c.id] = mark
            for (const d of c.detectors) {
              if (seen[d] !== mark) {
                seen[d] = mark
                selected.push(d)
              }
            }
          }
          if (selected.length === this.total) break
        }
      }
      prev = cur
    }
    return selected
  }
}
