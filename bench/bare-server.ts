import Fastify from 'fastify'

/**
 * The ceiling of this machine: a bare Fastify process with a trivial GET and a JSON POST echo,
 * no logging, no plugins. Nexus's figures are read as ratios of these, measured in the same run.
 */
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
app.get('/bare', async () => ({ ok: true }))
app.post('/echo', async (request) => request.body)
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
