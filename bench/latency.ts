import { setMaxListeners } from 'node:events'
import { Pool } from 'undici'
import type { BenchSession } from './fixtures.js'
import { benchText, type DeliveryFigures, DeliveryTally, paced, WARMUP_SECONDS } from './tally.js'

export interface LatencyResult extends DeliveryFigures {
  transport: 'long-poll' | 'sse'
}

/**
 * Delivery latency from the moment a send is issued to the moment the receiving agent has the
 * message, at `rate` messages per second spread evenly across time and the sessions, each
 * session with one receiver on long-poll or SSE. Valid only if every message (warm-up included)
 * arrived exactly once and in order.
 */
export async function deliveryLatency(base: string, sessions: BenchSession[], transport: 'long-poll' | 'sse', rate = 1000, seconds = 5, sendBase = base): Promise<LatencyResult> {
  const receivers = new Pool(base, { connections: sessions.length + 4, pipelining: 1 })
  // `sendBase` another instance (on a shared store): the sends go there, the receivers stay here.
  const senders = new Pool(sendBase, { connections: 32, pipelining: 1 })
  const stop = new AbortController()
  setMaxListeners(0, stop.signal)
  const total = rate * seconds
  const warmup = rate * WARMUP_SECONDS
  const tally = new DeliveryTally(total, warmup)
  const record = (sessionIndex: number, text: string) => tally.received(sessionIndex, text)

  // Each session's current cursor, so receivers start at the tail and see only this run's messages.
  const starts = await Promise.all(sessions.map(async (s) => {
    const res = await receivers.request({ method: 'GET', path: `/v1/sessions/${s.id}/messages?after=999999999`, headers: { 'x-agent-id': 'guest' } })
    return (await res.body.json() as { nextCursor: string }).nextCursor
  }))

  const longPoll = async (index: number) => {
    const session = sessions[index]!
    let cursor = starts[index]!
    while (!stop.signal.aborted) {
      try {
        const res = await receivers.request({
          method: 'GET',
          path: `/v1/sessions/${session.id}/messages?after=${cursor}&wait=30`,
          headers: { 'x-agent-id': 'guest' },
          signal: stop.signal,
        })
        const page = await res.body.json() as { messages: { text: string }[]; nextCursor: string }
        for (const m of page.messages) record(index, m.text)
        cursor = page.nextCursor
      } catch {
        return
      }
    }
  }

  const sse = async (index: number) => {
    const session = sessions[index]!
    try {
      const res = await receivers.request({
        method: 'GET',
        path: `/v1/sessions/${session.id}/events?agentId=guest&after=${starts[index]}`,
        signal: stop.signal,
      })
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Buffer, { stream: true })
        let split: number
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split)
          buffer = buffer.slice(split + 2)
          const data = block.indexOf('\ndata: ')
          if (block.includes('event: message') && data >= 0) record(index, (JSON.parse(block.slice(data + 7)) as { text: string }).text)
        }
      }
    } catch {
      // aborted at the end of the run
    }
  }

  const loops = sessions.map((_, index) => (transport === 'sse' ? sse(index) : longPoll(index)))
  await new Promise((resolve) => setTimeout(resolve, 300))

  // The sender: `rate` per second, evenly spaced, round-robin over the sessions; the first
  // seconds warm the JIT up and are checked but not timed. Sends to one session are chained (the
  // next leaves when the previous is acknowledged), as one agent talks, so "in order" means the
  // order that agent sent in; sends to different sessions run at once.
  const chains: Promise<unknown>[] = sessions.map(() => Promise.resolve())
  await paced(rate, warmup + total, (n) => {
    const index = n % sessions.length
    const session = sessions[index]!
    const text = benchText(n)
    tally.sent(n)
    chains[index] = chains[index]!.then(() => senders.request({
      method: 'POST',
      path: `/v1/sessions/${session.id}/messages`,
      headers: { 'content-type': 'application/json', 'x-agent-id': 'host', 'x-session-key': session.hostKey },
      body: JSON.stringify({ text }),
    }).then((res) => res.body.dump()))
  })
  const sends = chains
  await Promise.all(sends)
  await Promise.race([tally.done, new Promise((resolve) => setTimeout(resolve, 10_000))])
  stop.abort()
  await Promise.allSettled(loops)
  await Promise.all([receivers.destroy(), senders.destroy()])

  return { transport, ...tally.figures() }
}
