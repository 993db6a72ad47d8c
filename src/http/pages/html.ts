/** The frame of every page for people: readable on a phone, no scripts, no outside assets. */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 1.2rem; color: #1d1d1f; background: #fafafa; }
  main { max-width: 38rem; margin: 0 auto; background: #fff; padding: 1.4rem 1.4rem 1rem; border-radius: 14px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
  h1 { font-size: 1.4rem; margin-top: 0; }
  code, pre { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f1f4; border-radius: 6px; }
  code { padding: .1em .35em; word-break: break-all; }
  pre { padding: .8rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
  .code { font-size: 1.5rem; letter-spacing: .04em; text-align: center; padding: .6rem; margin: 1rem 0; background: #eef5ff; border-radius: 10px; word-break: break-all; }
  .muted { color: #6e6e73; font-size: .9rem; }
  ol li { margin-bottom: .5rem; }
  @media (prefers-color-scheme: dark) {
    body { background: #111; color: #eee; } main { background: #1c1c1e; box-shadow: none; }
    code, pre { background: #2c2c2e; } .code { background: #1f3350; } .muted { color: #a1a1a6; }
  }
</style>
</head>
<body><main>
${body}
</main></body>
</html>
`
}
