/**
 * The cursor rule (references/api.md, "Cursors"), written once for the server and the
 * TypeScript client: a cursor is the decimal string of a whole number, 1 to 16 digits, at most
 * 2^53 - 1 so that it is exact as a JavaScript number; a bare number is accepted where a cursor
 * is. Plain TypeScript with no imports, so the client package can use it as it is.
 */

/** The digits a cursor may be written with; the value bound is MAX_CURSOR. */
export const CURSOR_PATTERN = /^\d{1,16}$/

/** The largest cursor: beyond it a number would no longer count one by one. */
export const MAX_CURSOR = Number.MAX_SAFE_INTEGER

/** The cursor `value` stands for, or undefined when it is not one. */
export function cursorValue(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const text = String(value)
  if (!CURSOR_PATTERN.test(text)) return undefined
  const cursor = Number(text)
  return cursor <= MAX_CURSOR ? cursor : undefined
}
