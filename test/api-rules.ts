import { readFileSync } from 'node:fs'

/**
 * The rules references/api.md gives every client, read from the document itself, so that the
 * clients' tests (TypeScript and nexus.sh alike) hold the code to what the document says and
 * neither can drift from it.
 */
const doc = readFileSync(new URL('../references/api.md', import.meta.url), 'utf8')

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`)
  if (start === -1) throw new Error(`references/api.md has no section "${title}"`)
  const end = doc.indexOf('\n## ', start + 1)
  return doc.slice(start, end === -1 ? undefined : end)
}

export interface RetryRow {
  /** The first cell, as written: what came back. */
  failure: string
  /** May a GET be sent again? */
  get: boolean
  /** May a PUT, POST or DELETE be sent again? */
  other: boolean
}

/** The table of "Retrying": one row per kind of failure. */
export function retryTable(): RetryRow[] {
  const rows = section('Retrying').split('\n').filter((line) => line.startsWith('|')).slice(2)
  const verdict = (cell: string) => {
    if (cell === 'retry') return true
    if (cell === 'no') return false
    throw new Error(`references/api.md, Retrying: a cell says "${cell}", not "retry" or "no"`)
  }
  return rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim())
    if (cells.length !== 3) throw new Error(`references/api.md, Retrying: a row of ${cells.length} cells: ${line}`)
    return { failure: cells[0]!, get: verdict(cells[1]!), other: verdict(cells[2]!) }
  })
}

export interface CursorRule {
  minDigits: number
  maxDigits: number
  max: bigint
}

/** The bounds of a valid cursor, from the "Cursors" convention. */
export function cursorRule(): CursorRule {
  const text = section('Conventions').replace(/\s+/g, ' ')
  const found = /A valid cursor is (\d+) to (\d+) digits \(leading zeros allowed\) and at most (\d+)/.exec(text)
  if (!found) throw new Error('references/api.md, Conventions: the cursor rule is not where the tests read it')
  return { minDigits: Number(found[1]), maxDigits: Number(found[2]), max: BigInt(found[3]!) }
}

/** Cursors on each side of every bound the rule states, and shapes it never allows. */
export function cursorExamples(rule = cursorRule()): { valid: string[]; invalid: string[] } {
  const longest = String(rule.max).padStart(rule.maxDigits, '0')
  return {
    valid: ['0', '1', '42', '007', String(rule.max), longest, '9'.repeat(Math.min(rule.maxDigits, String(rule.max).length - 1))],
    invalid: ['', '-1', '+1', '1.5', '1e3', ' 1', '1 ', 'abc', '0x10', '١', String(rule.max + 1n), '0'.repeat(rule.maxDigits + 1)],
  }
}
