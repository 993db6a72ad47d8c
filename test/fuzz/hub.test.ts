import fc from 'fast-check'
import t from 'tap'
import { WebSocket } from 'ws'
import { clientFrames } from '../../src/hub/frames.js'
import { hubServer, openChat } from '../hub/helpers.js'
import { nested } from './http-cases.js'
import { fuzzOptions, fuzzRuns, fuzzTimeoutMs, hubErrorCodes, MAX_JSON_DEPTH, MIN_CASES, within } from './support.js'

/**
 * The hub fuzz: every frame type (and unknown ones, non-objects, binary, oversized and odd
 * JSON) over a real WebSocket, from a connected agent and from a socket that never said
 * connect. After each frame a ping must come back as a pong: the socket stays open, nothing
 * hangs, and every frame the hub sends meanwhile is a JSON object with a type, its errors
 * carrying catalogue or hub codes. The one frame that may close the socket is a connect refused
 * for its agent key: an `invalid_api_key` error, then close 4401.
 */

const MAX_FRAME_BYTES = 4096
const ANSWER_WITHIN_MS = 10_000
const RUNS = fuzzRuns(1500)
/** In `npm test` the run stops after this long, however many frames it reached. */
const BUDGET_MS = 15_000

// A long run (NEXUS_FUZZ_RUNS) outlasts the suite's per-file timeout: give this file its own.
t.setTimeout(fuzzTimeoutMs(RUNS, 10))

/** The keys each frame type takes, from the frame schemas themselves. */
const keysOf = Object.fromEntries(Object.entries(clientFrames).map(([type, schema]) => {
  const shape = 'shape' in schema ? schema.shape : (schema as unknown as { def: { in: { shape: Record<string, unknown> } } }).def.in.shape
  return [type, Object.keys(shape ?? {})]
})) as Record<string, string[]>

/** A socket that keeps every frame as text, whatever it holds. */
async function socket(url: string) {
  const ws = new WebSocket(url)
  const frames: string[] = []
  const waiters = new Set<() => void>()
  let closed: { code: number; reason: string } | undefined
  ws.on('message', (data) => {
    frames.push(data.toString())
    for (const wake of [...waiters]) wake()
  })
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() }
    for (const wake of [...waiters]) wake()
  })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  /** Resolves with the frames that arrived up to the one `until` accepts; rejects if the socket closes first. */
  const collect = (from: number, until: (frame: string) => boolean) => new Promise<string[]>((resolve, reject) => {
    const check = () => {
      const index = frames.findIndex((frame, i) => i >= from && until(frame))
      if (index >= 0) {
        waiters.delete(check)
        resolve(frames.slice(from, index + 1))
      } else if (closed) {
        waiters.delete(check)
        reject(new Error(`the socket was closed: ${closed.code} ${closed.reason}`))
      }
    }
    waiters.add(check)
    check()
  })
  return { ws, frames, collect, closed: () => closed }
}

interface FuzzFrame {
  data: string | Buffer
  binary: boolean
  /** Whether it goes on the socket that never said connect. */
  anonymous: boolean
}

t.test('every hub frame over a real WebSocket', { timeout: fuzzTimeoutMs(RUNS, 20) }, async (t) => {
  // The anonymous socket is meant never to say connect: on a loaded machine a run outlasts the default 5 s allowed for it.
  const { hubUrl } = await hubServer(t, { HUB_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES), HUB_FRAMES_PER_SECOND: '1000000', HUB_CONNECT_TIMEOUT_SECONDS: '3600' })
  const chat = await openChat(t, hubUrl)
  const channelId: string = chat.channelId
  /** The fuzzing sockets, opened again when a case closed one, so every case (and every shrink) starts on an open socket. */
  let fuzzerKey: string | undefined
  const open = async (name: string | undefined) => {
    const client = await socket(hubUrl)
    if (name !== undefined) {
      client.ws.send(JSON.stringify({ type: 'connect', agent_id: name, ...(fuzzerKey !== undefined ? { api_key: fuzzerKey } : {}) }))
      const [connected] = (await client.collect(0, (frame) => frame.includes('"connected"'))).slice(-1)
      fuzzerKey ??= JSON.parse(connected!).agent_key
    }
    return client
  }
  let named = await open('fuzzer')
  let anonymous = await open(undefined)
  t.teardown(() => {
    named.ws.terminate()
    anonymous.ws.terminate()
  })

  const odd = fc.constantFrom('', ' ', '__proto__', 'constructor', 'system', 'a'.repeat(129), '😀', '\ud800', '\u0000', '-1', '1e309', 'x'.repeat(MAX_FRAME_BYTES / 2))
  const wrong = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, true, 0, -1, 1.5, 1e308, [], {}, ''))
  const valid: Record<string, fc.Arbitrary<unknown>> = {
    agent_id: fc.constantFrom('fuzzer', 'alice', 'weather-bot', 'someone'),
    consumer_id: fc.constantFrom('alice', 'fuzzer', 'weather-bot', 'nobody'),
    target_agent: fc.constantFrom('alice', 'weather-bot', 'fuzzer', 'nobody'),
    service_id: fc.constantFrom('weather', 'fuzz.service', 'unknown:svc'),
    channel_id: fc.constantFrom(channelId, 'f'.repeat(48), 'chan'),
    request_id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/),
    message_id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/),
    content: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 1, max: MAX_JSON_DEPTH }).map((depth) => JSON.parse(nested(depth, 'array')) as unknown)),
    limit: fc.integer({ min: -1, max: 1001 }),
    cursors: fc.dictionary(fc.constantFrom(channelId, 'x', '__proto__'), fc.oneof(fc.constantFrom('0', '1', '-1', 'a'), fc.nat().map(String))),
  }
  const value = (key: string) => fc.oneof({ weight: 4, arbitrary: valid[key] ?? fc.string({ unit: 'binary', maxLength: 30 }) }, { weight: 1, arbitrary: wrong }, { weight: 1, arbitrary: odd })
  const typed = fc.constantFrom(...Object.keys(clientFrames), 'unknown', 'PING', '__proto__', 'toString').chain((type) =>
    fc.record(Object.fromEntries((Object.hasOwn(keysOf, type) ? keysOf[type]! : ['request_id']).map((key) => [key, value(key)])), { requiredKeys: [] })
      .map((fields) => JSON.stringify({ type, ...fields })))
  const text = fc.oneof(
    { weight: 10, arbitrary: typed },
    { weight: 1, arbitrary: typed.map((frame) => frame.replace(/^\{/, '{"__proto__":{"polluted":true},')) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '[]', '"ping"', '42', '{"type":1}', '{"type":null}', '{"type":"ping","request_id":{}}', '{"type":"connect"}', '\ufeff{"type":"ping"}', '{"type":"ping","type":"chat_end"}') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_JSON_DEPTH }).map((depth) => `{"type":"chat_message","target_agent":"alice","content":${nested(depth, 'array')}}`) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_FRAME_BYTES - 64, max: MAX_FRAME_BYTES * 2 }).map((size) => JSON.stringify({ type: 'chat_message', target_agent: 'alice', content: 'x'.repeat(size) })) },
  )
  const invalidUtf8 = fc.constantFrom(Buffer.from([0xc3, 0x28]), Buffer.from('{"type":"ping","request_id":"\xff"}', 'latin1'), Buffer.from([0xed, 0xa0, 0x80]))
  const frames: fc.Arbitrary<FuzzFrame> = fc.record({
    // Bytes sent as a text frame may be invalid UTF-8: an error frame answers, the socket stays.
    data: fc.oneof({ weight: 12, arbitrary: text }, { weight: 1, arbitrary: invalidUtf8 }),
    binary: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    anonymous: fc.boolean(),
  })

  const started = Date.now()
  let cases = 0
  let probe = 0
  const errors = new Map<string, number>()
  const property = fc.asyncProperty(frames, async (frame) => {
    cases++
    if (named.closed()) named = await open('fuzzer')
    if (anonymous.closed()) anonymous = await open(undefined)
    const client = frame.anonymous ? anonymous : named
    const from = client.frames.length
    const id = `probe-${++probe}`
    client.ws.send(frame.data, { binary: frame.binary })
    client.ws.send(JSON.stringify({ type: 'ping', request_id: id }))
    const shown = typeof frame.data === 'string' ? frame.data.slice(0, 300) : `bytes ${frame.data.toString('hex').slice(0, 300)}`
    const replies = await within(ANSWER_WITHIN_MS, shown, client.collect(from, (reply) => reply.includes(`"${id}"`) && reply.includes('"pong"')))
      .catch((err: Error) => {
        // A connect refused for its key closes the socket, as it must, once it has said why.
        const refused = client.closed()?.code === 4401 && client.frames.slice(from).some((reply) => reply.includes('"invalid_api_key"'))
        if (refused) return client.frames.slice(from)
        throw new Error(`${err.message}\n  frame: ${shown}`)
      })
    for (const reply of replies) {
      let parsed: { type?: unknown; error_code?: unknown; message?: unknown }
      try {
        parsed = JSON.parse(reply)
      } catch {
        throw new Error(`a frame that is not JSON: ${reply.slice(0, 200)}\n  after: ${shown}`)
      }
      if (typeof parsed.type !== 'string') throw new Error(`a frame without a type: ${reply.slice(0, 200)}\n  after: ${shown}`)
      if (parsed.type === 'error') {
        if (typeof parsed.error_code !== 'string' || !hubErrorCodes.has(parsed.error_code) || typeof parsed.message !== 'string') {
          throw new Error(`an error outside the catalogue: ${reply.slice(0, 200)}\n  after: ${shown}`)
        }
        if (parsed.error_code === 'internal_error') throw new Error(`internal_error: ${reply.slice(0, 200)}\n  after: ${shown}`)
        errors.set(parsed.error_code, (errors.get(parsed.error_code) ?? 0) + 1)
      }
    }
  })
  const outcome = await fc.check(property, fuzzOptions(RUNS, BUDGET_MS))
  t.comment(`${outcome.numRuns} frames in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${outcome.seed}); errors ${JSON.stringify(Object.fromEntries([...errors].sort()))}`)
  if (outcome.failed) t.fail(`${fc.defaultReportMessage(outcome) ?? 'the property failed'}\n${String(outcome.errorInstance)}`)
  else t.pass(`${outcome.numRuns} frames: every one answered in time, the socket kept, every error from the catalogue`)
  t.ok(outcome.numRuns >= Math.min(RUNS, MIN_CASES), `at least ${Math.min(RUNS, MIN_CASES)} frames ran (${cases} sent)`)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted')
  // The chat the fuzz ran beside still works.
  chat.consumer.send({ type: 'chat_message', channel_id: channelId, content: 'still here?' })
  t.equal((await chat.provider.next({ type: 'chat_message', content: 'still here?' })).channel_id, channelId)
})
