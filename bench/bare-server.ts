import Fastify from 'fastify'

/**
 * The ceiling of this machine: a bare Fastify process with a trivial GET and a JSON POST echo,
 * no logging, no plugins. Nexus's figures are read as ratios of these, measured in the same run.
 * `/hold` answers after a minute, as a long-poll with nothing to say would: the memory of a
 * held request in plain Fastify, for scale beside a Nexus waiter; `/held` counts them.
 */
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
app.get('/bare', async () => ({ ok: true }))
app.post('/echo', async (request) => request.body)
let held = 0
app.get('/hold', async () => {
  held++
  await new Promise((resolve) => setTimeout(resolve, 60_000))
  held--
  return { ok: true }
})
app.get('/held', async () => ({ held }))
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
