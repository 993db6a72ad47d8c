/**
 * A provider agent on the chat hub: it registers the "weather" service, accepts every chat
 * request (except spam), and answers each message with a forecast for the city it names.
 *
 *     npm start                                        # the server, on ws://localhost:8765
 *     node --import tsx examples/weather-provider.ts   # this provider
 *     node --import tsx examples/weather-consumer.ts Lisbon
 *
 * HUB_URL points it at another hub. Ctrl-C disconnects it.
 */
import { ChatClient } from '../src/client/index.js'

const hubUrl = process.env.HUB_URL ?? 'ws://localhost:8765'
const provider = new ChatClient({ hubUrl, agentId: process.env.AGENT_ID ?? 'weather-provider' })

/** A made-up but stable forecast, so the example needs nothing but the hub. */
function forecast(city: string): string {
  let seed = 0
  for (const char of city.toLowerCase()) seed = (seed * 31 + char.charCodeAt(0)) >>> 0
  const skies = ['sunny', 'cloudy', 'rainy', 'windy', 'foggy'][seed % 5]
  return `${city}: ${skies}, ${8 + (seed % 22)}°C tomorrow.`
}

await provider.connect()
await provider.register('weather', { name: 'Weather', description: 'Tomorrow\'s forecast for any city' })
console.log(`weather-provider: serving "weather" on ${hubUrl}`)
process.once('SIGINT', () => void provider.disconnect())
process.once('SIGTERM', () => void provider.disconnect())

// Every event the hub pushes, in order; the loop ends when the client disconnects.
for await (const event of provider.messages()) {
  switch (event.type) {
    case 'chat_request': {
      if (/spam/i.test(event.message)) {
        await provider.rejectChat(event.consumerId, 'No spam, please.')
        console.log(`weather-provider: rejected ${event.consumerId}`)
        break
      }
      const { channelId } = await provider.acceptChat(event.consumerId)
      console.log(`weather-provider: chatting with ${event.consumerId} in ${channelId}`)
      await provider.sendMessage(null, 'Hello! Which city?', { channelId })
      break
    }
    case 'chat_message':
      if (typeof event.content === 'string') await provider.sendMessage(null, forecast(event.content.trim()), { channelId: event.channelId })
      break
    case 'chat_end':
      console.log(`weather-provider: ${event.endedBy} ended ${event.channelId} (${event.reason})`)
      break
    case 'error':
      console.error(`weather-provider: hub error ${event.code}: ${event.message}`)
      break
  }
}
console.log('weather-provider: disconnected')
