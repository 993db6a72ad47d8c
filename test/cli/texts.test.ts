import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { agent, fakeServer, pairedSession, poll, sessionDir, startServer, stateDir } from './helpers.js'

const server = await startServer(t)

const hostile = {
  quotes: `she said "hi" and 'bye'`,
  backslashes: 'C:\\path\\to\\file \\n is not a newline \\\\ \\u0041',
  newlines: 'line one\nline two\r\nline three\n\n',
  tabs: 'a\tb\t\tc',
  substitution: '$(rm -rf /) and ${HOME} and $HOME and $((1+1))',
  backticks: '`id` and ``',
  leadingDash: '-n',
  doubleDash: '--json',
  onlyDashes: '--',
  emoji: '👋🏽 agents 🤖 talk 🧑‍🤝‍🧑',
  rightToLeft: 'مرحبا بالعالم — שלום עולם',
  mixed: 'json-looking {"text": "x", "json": [1]} %s %d \\x00 *glob* ~ ! # ;|&<>',
  spaces: '  leading and trailing spaces  ',
  control: 'bell \u0007 escape \u001b[31m red \u001b[0m',
} satisfies Record<string, string>

t.test('hostile texts arrive byte for byte', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, server.base)
  for (const [name, text] of Object.entries(hostile)) {
    const sent = await alice.run(['send', sid, '--', text])
    t.equal(sent.code, 0, `${name}: ${sent.stdout} ${sent.stderr}`)
  }
  const read = await bob.run(['poll', sid, '--after', '0'])
  const texts = read.json.messages.slice(1).map((m: any) => m.text)
  t.same(texts, Object.values(hostile), 'the poll sees every text exactly')
  const direct = await poll(server.app, sid, 'bob')
  t.same(direct.slice(1).map((m: any) => m.text), Object.values(hostile), 'and so does the server itself')
})

t.test('a reply is printed exactly as it came: jq reads it, but does not rewrite it', async (t) => {
  // jq 1.6 would print this number as a double: the script prints the body it got, and takes
  // from jq only the fields it needs (the cursor, here).
  const page = '{"nextCursor":"2","messages":[{"id":"m","cursor":"2","agentId":"a","json":{"big":12345678901234567890,"é":"\\u00e9"},"verified":false,"createdAt":"x","redactions":[]}],"hasMore":false}'
  const fake = await fakeServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
    response.end(page)
  })
  const bob = agent(t, fake.base)
  const read = await bob.run(['poll', 'f'.repeat(48), '--agent-id', 'bob'])
  t.equal(read.code, 0, read.stderr)
  t.equal(read.stdout, `${page}\n`)
  t.equal(readFileSync(join(sessionDir(bob.home, 'f'.repeat(48)), 'cursor'), 'utf8').trim(), '2', 'the cursor, read by jq, is saved')
})

t.test('text as several words, after the flags, and on stdin', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, server.base)
  await alice.run(['send', sid, 'several', 'words', ' with  spaces '])
  await alice.run(['send', '--url', server.base, sid, 'flag', 'first'])
  await alice.run(['send', sid, '--', '-dash', '--strict', 'kept as text'])
  const stdinText = 'from stdin\nwith "quotes" and a trailing newline\n'
  const piped = await alice.run(['send', sid, '--stdin'], { input: stdinText })
  t.equal(piped.code, 0, piped.stdout)
  const read = await bob.run(['poll', sid])
  t.same(read.json.messages.slice(1).map((m: any) => m.text), [
    'several words  with  spaces ',
    'flag first',
    '-dash --strict kept as text',
    stdinText,
  ])
  const both = await alice.run(['send', sid, 'words', '--stdin'], { input: 'x' })
  t.equal(both.code, 1)
  const empty = await alice.run(['send', sid])
  t.same(empty.json, { error: 'missing message text' })
})

t.test('a 60 KB text, multibyte included, goes through stdin to jq', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, server.base)
  const unit = 'ünïcødé "quoted" \\ back $(x) `y` 🤖\n'
  let text = ''
  // The server counts a message as JSON writes it (quotes, backslashes and newlines escaped).
  while (Buffer.byteLength(JSON.stringify(text + unit)) < 60 * 1024) text += unit
  t.ok(Buffer.byteLength(text) > 50 * 1024)
  const sent = await alice.run(['send', sid, text])
  t.equal(sent.code, 0, sent.stdout)
  const read = await bob.run(['poll', sid])
  t.equal(read.json.messages.at(-1).text, text)

  // Over the server's limit, across many words (past any single-argument limit): the server's 413.
  const words = Array.from({ length: 40 }, () => 'x'.repeat(4000))
  const tooBig = await alice.run(['send', sid, ...words])
  t.equal(tooBig.code, 1)
  t.equal(tooBig.json.error, 'payload_too_large')
})

t.test('--json: sent as json when /health lists it, cached per server', async (t) => {
  const { alice, bob, sid } = await pairedSession(t, server.base)
  const sent = await alice.run(['send', sid, 'build finished', '--json', '{"status":"ok","n":[1,2,{"deep":"é"}]}'])
  t.equal(sent.code, 0, sent.stdout)
  const onlyJson = await alice.run(['send', sid, '--json', '[true,null,"x"]'])
  t.equal(onlyJson.code, 0)
  const scalar = await alice.run(['send', sid, '--json', '42'])
  t.equal(scalar.code, 0)
  const read = await bob.run(['poll', sid])
  t.same(read.json.messages.slice(1).map((m: any) => [m.text, m.json]), [
    ['build finished', { status: 'ok', n: [1, 2, { deep: 'é' }] }],
    [undefined, [true, null, 'x']],
    [undefined, 42],
  ])
  const cache = readdirSync(join(stateDir(alice.home), 'cache')).filter((name) => name.endsWith('.health'))
  t.equal(cache.length, 1, 'the /health answer is cached')

  const bad = await alice.run(['send', sid, 'x', '--json', '{not json'])
  t.equal(bad.code, 1)
  t.same(bad.json, { error: 'invalid --json payload: it must be one JSON value' })
  const two = await alice.run(['send', sid, '--json', '1 2'])
  t.equal(two.code, 1)
  const empty = await alice.run(['send', sid, 'x', '--json', ''])
  t.match(empty.json.error, 'invalid --json payload', 'an empty payload is not null')
  const piped = await alice.run(['send', sid, '--stdin', '--json', '{'], { input: 'text' })
  t.match(piped.json.error, 'invalid --json payload')
  const onlyPiped = await alice.run(['send', sid, '--stdin', '--json', '{"k":1}'], { input: '' })
  t.equal(onlyPiped.code, 0, 'json alone, with an empty stdin')
})

t.test('--json on a server without json: folded into the text, or refused with --strict', async (t) => {
  const old = await fakeServer(t, (request, response) => {
    response.setHeader('content-type', 'application/json')
    if (request.url === '/health') return response.end(JSON.stringify({ status: 'ok', capabilities: { messageFormat: ['text'] } }))
    response.statusCode = 201
    response.end(JSON.stringify({ id: 'msg_x', cursor: '1', verified: true, redactions: [] }))
  })
  const someone = agent(t, old.base)
  const sid = 'f'.repeat(48)
  const folded = await someone.run(['send', sid, 'report', '--json', '{"a": [1, "two"]}', '--agent-id', 'zed'])
  t.equal(folded.code, 0, folded.stdout)
  t.match(folded.stderr, 'does not take json messages')
  const posts = old.requests.filter((r) => r.method === 'POST')
  t.equal(posts.length, 1)
  t.same(JSON.parse(posts[0]!.body), { text: 'report\n{"a":[1,"two"]}' })
  t.equal(posts[0]!.headers['x-agent-id'], 'zed')
  t.equal(posts[0]!.headers['x-session-key'], undefined, 'no key saved, none sent')
  t.match(posts[0]!.headers['content-type'], 'application/json')

  const strict = await someone.run(['send', sid, 'report', '--json', '{}', '--strict', '--agent-id', 'zed'])
  t.equal(strict.code, 1)
  t.match(strict.json.error, 'json messages not supported')
  t.equal(old.requests.filter((r) => r.method === 'POST').length, 1, 'nothing sent')
  t.equal(old.requests.filter((r) => r.url === '/health').length, 1, '/health asked once, then cached')
})

t.test('the session key travels in a header, never on the command line', async (t) => {
  const fake = await fakeServer(t, (request, response) => {
    response.setHeader('content-type', 'application/json')
    if (request.url.endsWith('/join')) return response.end(JSON.stringify({ status: 'joined', sessionId: 'b'.repeat(48), agentId: 'kim', agentsOnline: 1, sessionKey: 'c'.repeat(64) }))
    response.statusCode = 201
    response.end(JSON.stringify({ id: 'msg_y', cursor: '1', verified: true, redactions: [] }))
  })
  const kim = agent(t, fake.base)
  const sid = 'b'.repeat(48)
  t.equal((await kim.run(['join', sid, '--agent-id', 'kim'])).code, 0)
  t.equal((await kim.run(['send', sid, 'hello'])).code, 0)
  const post = fake.requests.at(-1)!
  t.equal(post.headers['x-session-key'], 'c'.repeat(64))
  t.equal(post.headers['x-agent-id'], 'kim')
  t.match(post.headers['user-agent'], /^nexus\.sh\//)
  // Another agent id than the saved one: the saved key is not sent with it.
  await kim.run(['send', sid, 'as someone else', '--agent-id', 'lee'])
  t.equal(fake.requests.at(-1)!.headers['x-session-key'], undefined)
  t.ok(existsSync(join(stateDir(kim.home), 'sessions', sid, 'key')))
})
