/** A pairing link or code as a person passes it on, taken apart. */
export interface PairingRef {
  code: string
  /** The server the link points at (with any path prefix), when a link was given. */
  base: string | undefined
}

const LINK_PATH = /^(.*?)\/(?:p\/([^/?#]+)|v1\/pair\/([^/?#]+)(?:\/(?:skill|claim|status))?)\/?$/

/**
 * Accepts `WORD-WORD-XXXXX`, `https://host/p/WORD-WORD-XXXXX` and the page it redirects to
 * (`/v1/pair/CODE/skill`), with or without a path prefix, quotes or angle brackets around it.
 * Returns undefined for anything else.
 */
export function parsePairingRef(raw: string): PairingRef | undefined {
  const text = raw.trim().replace(/^[<"'`(]+|[>"'`).,;]+$/g, '')
  if (/^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/.test(text) && text.length <= 64) return { code: text, base: undefined }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  const match = LINK_PATH.exec(url.pathname)
  if (!match) return undefined
  const code = decodeURIComponent(match[2] ?? match[3] ?? '')
  if (!/^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/.test(code) || code.length > 64) return undefined
  return { code, base: `${url.origin}${match[1]}` }
}
