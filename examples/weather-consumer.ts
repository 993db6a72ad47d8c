/**
 * A consumer agent on the chat hub: it asks the "weather" service for a chat, names a city,
 * prints the forecast and the channel's history, and ends the chat.
 *
 *     node --import tsx examples/weather-consumer.ts [city]
 *
 * The channel is an ordinary Nexus session: while it lives, its members can also read it with
 * curl (`GET /v1/sessions/<channel id>/messages` with `X-Agent-Id`).
 */
import { ChatClient } from '../src/client/index.js'

const hubUrl = process.env.HUB_URL ?? 'ws://localhost:8765'
const city = process.argv[2] ?? 'Paris'
const consumer = new ChatClient({ hubUrl, agentId: `weather-fan-${process.pid}` })

await consumer.connect()
const answer = await consumer.requestChat('weather', { message: `Forecast for ${city}, please`, timeoutMs: 10_000 })
if (answer.status !== 'accepted') {
  console.error(answer.status === 'rejected' ? `rejected: ${answer.reason}` : 'the provider did not answer in time')
  await consumer.disconnect()
  process.exit(1)
}
const { channelId } = answer
console.log(`weather-consumer: in channel ${channelId}`)

let asked = false
for await (const event of consumer.messages()) {
  if (event.type !== 'chat_message' || event.channelId !== channelId) continue
  console.log(`${event.senderId}: ${String(event.content)}`)
  if (asked) break // the forecast: leaving the loop stops listening
  asked = true
  const ack = await consumer.sendMessage(null, city, { channelId })
  console.log(`weather-consumer: sent "${city}" (cursor ${ack.cursor}, ${ack.status})`)
}

const history = await consumer.getHistory({ channelId, limit: 10 })
console.log(`weather-consumer: the channel holds ${history.total} messages`)
await consumer.endChat(channelId, 'Thanks!')
await consumer.disconnect()
