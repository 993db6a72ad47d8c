import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool, request } from 'undici'
import { type BenchSession, makeSessions } from './fixtures.js'
import { deliveryLatency } from './latency.js'
import { startNexus } from './processes.js'
import { benchText, DeliveryTally, paced, WARMUP_SECONDS } from './tally.js'
import { type Load, medianRps, non2xx, sends } from './throughput.js'

/**
 * Webhook delivery beside long-poll, on one server in one run: the latency from a send being
 * issued to the receiver's HTTP handler having the message (1000 msg/s over 100 sessions, each
 * with one member's webhook), then long-poll on 100 other sessions of the same server; and send
 * throughput to sessions with a webhook each against sessions without (rounds alternating).
 */
export async function runWebhookBench(): Promise<Record<string, number>> {
  // One receiving host for all 100 webhooks, at the default per-host cap (4 in flight): what piles
  // up behind it goes in batches, as it would to one busy receiver.
  const nexus = await startNexus({ WEBHOOK_ALLOW_PRIVATE: 'true' })
  const rate = 1000
  const seconds = 5
  const total = rate * seconds
  const warmup = rate * WARMUP_SECONDS
  const tally = new DeliveryTally(total, warmup)
  const sessionIndex = new Map<string, number>()
  let failures = 0
  let posts = 0
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      posts++
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sessionId: string; messages: { text: string }[] }
        const index = sessionIndex.get(body.sessionId)
        if (index !== undefined) for (const m of body.messages) if (m.text.startsWith('seq ')) tally.received(index, m.text)
      } catch {
        failures++
      }
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  try {
    const hooked: BenchSession[] = []
    for (let i = 0; i < 100; i++) {
      const created = await json('PUT', `${nexus.base}/v1/sessions`, {}, { creatorAgentId: 'host', ttl: 3600 })
      const joined = await json('POST', `${nexus.base}/v1/sessions/${created.sessionId}/join`, { 'x-agent-id': 'guest' }, { webhookUrl: hookUrl })
      if (!joined.webhookSecret) throw new Error('the webhook was not set')
      sessionIndex.set(created.sessionId, i)
      hooked.push({ id: created.sessionId, hostKey: created.sessionKey })
    }
    const plain = await makeSessions(nexus.base, 100)

    const senders = new Pool(nexus.base, { connections: 32, pipelining: 1 })
    const chains: Promise<unknown>[] = hooked.map(() => Promise.resolve())
    await paced(rate, warmup + total, (n) => {
      const index = n % hooked.length
      const session = hooked[index]!
      tally.sent(n)
      chains[index] = chains[index]!.then(() => senders.request({
        method: 'POST',
        path: `/v1/sessions/${session.id}/messages`,
        headers: { 'content-type': 'application/json', 'x-agent-id': 'host', 'x-session-key': session.hostKey },
        body: JSON.stringify({ text: benchText(n) }),
      }).then((res) => res.body.dump()))
    })
    await Promise.all(chains)
    await Promise.race([tally.done, new Promise((resolve) => setTimeout(resolve, 10_000))])
    await senders.destroy()
    const webhook = tally.figures()
    const latencyPosts = posts
    const longPoll = await deliveryLatency(nexus.base, plain, 'long-poll', rate, seconds)

    // Throughput: sends to sessions with a webhook each (their deliveries run meanwhile) and to
    // sessions without, alternating, three rounds each after a warm-up of both.
    await sends(nexus, hooked, 1)
    await sends(nexus, plain, 1)
    const withHooks: Load[] = []
    const without: Load[] = []
    for (let round = 0; round < 3; round++) {
      without.push(await sends(nexus, plain))
      withHooks.push(await sends(nexus, hooked))
    }
    const ratios = withHooks.map((w, i) => w.rps / without[i]!.rps).sort((a, b) => a - b)
    return {
      webhookP50ms: webhook.p50ms,
      webhookP99ms: webhook.p99ms,
      webhookMaxMs: webhook.maxms,
      webhookReceived: webhook.received,
      webhookSent: webhook.sent,
      webhookDuplicates: webhook.duplicates,
      webhookOutOfOrder: webhook.outOfOrder,
      webhookValid: webhook.valid ? 1 : 0,
      webhookPosts: latencyPosts,
      longPollP50ms: longPoll.p50ms,
      longPollP99ms: longPoll.p99ms,
      longPollValid: longPoll.valid ? 1 : 0,
      sendRpsWithWebhooks: medianRps(withHooks),
      sendRpsWithout: medianRps(without),
      sendRatio: ratios[1]!,
      sendErrors: non2xx(withHooks) + non2xx(without),
      receiverFailures: failures,
    }
  } finally {
    await new Promise<void>((resolve) => receiver.close(() => resolve()))
    receiver.closeAllConnections()
    await nexus.stop()
  }
}

async function json(method: 'PUT' | 'POST', url: string, headers: Record<string, string>, body: unknown) {
  const res = await request(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`)
  return JSON.parse(text)
}

