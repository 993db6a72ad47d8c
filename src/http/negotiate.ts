/**
 * Does this Accept header prefer HTML to markdown? Agents (curl, fetch tools) send `*\/*` or
 * ask for text, and get markdown; browsers put text/html first and get a page for people.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false
  let html = 0
  let text = 0
  for (const part of accept.split(',')) {
    const [rawType, ...params] = part.trim().toLowerCase().split(';')
    const type = rawType?.trim()
    let q = 1
    for (const param of params) {
      const [key, value] = param.trim().split('=')
      if (key === 'q' && value !== undefined) q = Number(value) || 0
    }
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, q)
    else if (type === 'text/markdown' || type === 'text/plain' || type === 'text/x-markdown') text = Math.max(text, q)
  }
  return html > 0 && html > text
}
