/** One dispatched server-sent event. */
export interface ServerSentEvent {
  /** `message` when the stream named none. */
  event: string
  data: string
  /** The last `id:` seen on the stream so far (the WHATWG "last event ID"). */
  id: string | undefined
}

/**
 * A `text/event-stream` parser after the WHATWG rules: lines end in CRLF, LF or CR (even split
 * across chunks), `:` starts a comment, `data` lines join with `\n`, a blank line dispatches,
 * and an event without data is not dispatched. Feed it decoded text as it arrives.
 */
export class EventStreamParser {
  #buffer = ''
  #skipLeadingLf = false
  #started = false
  #event = ''
  #data: string[] = []
  #lastId: string | undefined

  /** Parses `chunk`, returning the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk
    if (!this.#started && text.length > 0) {
      this.#started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (this.#skipLeadingLf && text.startsWith('\n')) text = text.slice(1)
    this.#skipLeadingLf = false
    this.#buffer += text

    const events: ServerSentEvent[] = []
    let start = 0
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer.charCodeAt(i)
      if (c !== 0x0a && c !== 0x0d) continue
      const line = this.#buffer.slice(start, i)
      if (c === 0x0d) {
        if (i + 1 < this.#buffer.length) {
          if (this.#buffer.charCodeAt(i + 1) === 0x0a) i++
        } else {
          // A CR ending the chunk: an LF opening the next one belongs to the same line end.
          this.#skipLeadingLf = true
        }
      }
      start = i + 1
      const event = this.#line(line)
      if (event) events.push(event)
    }
    this.#buffer = this.#buffer.slice(start)
    return events
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.#dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.#event = value
        break
      case 'data':
        this.#data.push(value)
        break
      case 'id':
        if (!value.includes('\0')) this.#lastId = value
        break
      // `retry` is the browser's reconnection delay; the client keeps its own backoff.
    }
    return undefined
  }

  #dispatch(): ServerSentEvent | undefined {
    const data = this.#data
    const event = this.#event
    this.#data = []
    this.#event = ''
    if (data.length === 0) return undefined
    return { event: event === '' ? 'message' : event, data: data.join('\n'), id: this.#lastId }
  }
}
