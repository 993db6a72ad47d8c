import { execFileSync } from 'node:child_process'
import t from 'tap'
import { cursorExamples, retryTable } from '../api-rules.js'
import { fakeServer, jsonLines, pairedSession, script, startServer, which } from './helpers.js'

/**
 * nexus.sh's cursor rule (is_cursor) and retry rule (retryable) against references/api.md: the
 * script is sourced (which runs nothing) and each function asked about every example at once.
 */
function ask(program: string, lines: string[]): string[] {
  const out = execFileSync(which('bash'), ['-c', `source "$1"; while IFS=' ' read -r -a a; do ${program}; done`, 'bash', script], {
    encoding: 'utf8',
    input: lines.map((line) => `${line}\n`).join(''),
  })
  return out.split('\n').slice(0, -1)
}

t.test('is_cursor is the cursor rule references/api.md states', async (t) => {
  const { valid, invalid } = cursorExamples()
  // Words without spaces: the examples with spaces are refused before any rule (by the split).
  const cases = [...valid.map((c) => [c, 'yes']), ...invalid.filter((c) => c !== '' && !c.includes(' ')).map((c) => [c, 'no'])]
  const answers = ask('if is_cursor "${a[0]}"; then echo yes; else echo no; fi', cases.map(([c]) => c!))
  cases.forEach(([cursor, expected], i) => t.equal(answers[i], expected, `${JSON.stringify(cursor)}: ${expected}`))
  t.equal(ask('if is_cursor ""; then echo yes; else echo no; fi', ['x'])[0], 'no', 'the empty string is not a cursor')
})

/** Failures of each kind the table names, as the script sees them: status and error code ("-": none, not JSON). */
const examples: Record<string, string[]> = {
  'no reply: refused, reset, timed out': ['0 -'],
  '`429` (`rate_limit_exceeded`)': ['429 rate_limit_exceeded', '429 -'],
  '`503 capacity_exceeded`, `503 shutting_down`': ['503 capacity_exceeded', '503 shutting_down'],
  'any other `5xx`, JSON or not': ['500 internal_error', '502 -', '503 store_unavailable', '503 -', '504 -'],
  'a `2xx` that is not JSON': ['200 -'],
  'any other `4xx`, JSON or not': ['400 invalid_request', '403 forbidden', '404 session_not_found', '404 -', '409 agent_id_taken', '413 payload_too_large'],
}

t.test('retryable is the retry table of references/api.md', async (t) => {
  const table = retryTable()
  t.same(table.map((row) => row.failure).sort(), Object.keys(examples).sort(), 'the test has examples for every row, and only those')
  const cases = table.flatMap((row) => (examples[row.failure] ?? []).flatMap((failure) =>
    (['GET', 'PUT', 'POST', 'DELETE'] as const).map((method) => ({ row, failure, method, expected: method === 'GET' ? row.get : row.other }))))
  const answers = ask('HTTP_STATUS=${a[0]} HTTP_CODE=${a[1]#-}; if retryable "${a[2]}"; then echo retry; else echo no; fi',
    cases.map(({ failure, method }) => `${failure} ${method}`))
  cases.forEach(({ row, failure, method, expected }, i) =>
    t.equal(answers[i], expected ? 'retry' : 'no', `${row.failure}: ${failure}, ${method}`))
})

t.test('the wait: Retry-After when the reply has it, else doubling from the interval, never past NEXUS_RETRY_MAX', async (t) => {
  const waits = ask('RETRY_MAX_MS=${a[0]} HTTP_RETRY_AFTER=${a[1]#-}; retry_delay ms "${a[2]}" "${a[3]}"; echo "$ms"', [
    '300000 - 1 10', '300000 - 2 10', '300000 - 3 10', '300000 - 6 10', '300000 - 40 10',
    '300000 7 1 10', '300000 7 5 10', '300000 999 1 10', '100 12 1 10', '100 - 1 10',
  ])
  t.same(waits, ['10000', '20000', '40000', '300000', '300000', '7000', '7000', '300000', '100', '100'])
})

t.test('a loop waits what Retry-After says, capped by NEXUS_RETRY_MAX, then carries on', async (t) => {
  const server = await startServer(t)
  const { alice, bob, sid } = await pairedSession(t, server.base)
  await bob.run(['poll', sid])
  await alice.run(['send', sid, 'after the limit'])
  let polls = 0
  const front = await fakeServer(t, (request, response) => {
    if (request.url.startsWith('/v1/sessions/') && ++polls <= 2) {
      response.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '30' })
      response.end(JSON.stringify({ error: 'rate_limit_exceeded', message: 'Too many requests.' }))
      return
    }
    void server.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers as Record<string, string> }).then((reply) => {
      response.writeHead(reply.statusCode, { 'content-type': String(reply.headers['content-type']) })
      response.end(reply.body)
    })
  })
  // Without the cap this would wait 30 s twice; with it, a tenth of a second.
  const daemon = await bob.run(['poll-daemon', sid, '--interval', '1', '--ttl', '4', '--url', front.base], { env: { NEXUS_RETRY_MAX: '0.1' } })
  t.equal(daemon.code, 0, daemon.stderr)
  t.match(daemon.stderr, /poll failed \(rate_limit_exceeded\); retrying in 0\.100s/)
  t.ok(polls >= 3, `polled again after the waits (${polls} polls)`)
  t.same(jsonLines(daemon.stdout).flatMap((page) => page.messages.map((m: any) => m.text)), ['after the limit'])
})

t.test('a loop stops at a failure the rule does not retry: a page that is not JSON', async (t) => {
  const front = await fakeServer(t, (_request, response) => {
    response.writeHead(404, { 'content-type': 'text/html' })
    response.end('<h1>no such page</h1>')
  })
  const server = await startServer(t)
  const { bob, sid } = await pairedSession(t, server.base)
  const daemon = await bob.run(['poll-daemon', sid, '--interval', '1', '--ttl', '30', '--url', front.base])
  t.equal(daemon.code, 1)
  t.match(jsonLines(daemon.stdout).at(-1), { error: 'non_json_response', status: 404 })
  t.ok(daemon.ms < 15_000, `at once, not after --ttl (${daemon.ms} ms)`)
})
