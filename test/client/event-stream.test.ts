import t from 'tap'
import { EventStreamParser } from '../../src/client/event-stream.js'

t.test('events as the server writes them', async (t) => {
  const parser = new EventStreamParser()
  const events = parser.push('retry: 2000\n\nid: 4\nevent: message\ndata: {"cursor":"4"}\n\n: keep-alive\n\nevent: shutdown\ndata: {}\n\n')
  t.same(events, [
    { event: 'message', data: '{"cursor":"4"}', id: '4' },
    { event: 'shutdown', data: '{}', id: '4' },
  ])
})

t.test('chunks split anywhere, any line ending', async (t) => {
  const stream = '\uFEFFid: 1\r\ndata: a\r\n\r\nid:2\rdata:b\r\rdata: line1\ndata: line2\n\nevent: gap\ndata\n\n'
  const expected = [
    { event: 'message', data: 'a', id: '1' },
    { event: 'message', data: 'b', id: '2' },
    { event: 'message', data: 'line1\nline2', id: '2' },
    { event: 'gap', data: '', id: '2' },
  ]
  for (let size = 1; size <= stream.length; size++) {
    const parser = new EventStreamParser()
    const events = []
    for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)))
    t.same(events, expected, `chunks of ${size}`)
  }
})

t.test('an event without data is not dispatched; an unfinished one waits', async (t) => {
  const parser = new EventStreamParser()
  t.same(parser.push('event: nothing\n\nid: 9\ndata: half'), [])
  t.same(parser.push('\n\n'), [{ event: 'message', data: 'half', id: '9' }])
})
