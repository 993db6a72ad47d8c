import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import t from 'tap'
import { clientFileRoutes } from '../../src/http/routes/client-files.js'

// A bare app with only these routes, until src/app.ts registers them.
const app = Fastify({ logger: false })
clientFileRoutes(app)
t.teardown(() => app.close())

t.test('GET /nexus.sh hands out the client itself', async (t) => {
  const reply = await app.inject({ method: 'GET', url: '/nexus.sh' })
  t.equal(reply.statusCode, 200)
  t.equal(reply.headers['content-type'], 'text/x-shellscript; charset=utf-8')
  t.equal(reply.body, readFileSync(new URL('../../scripts/nexus.sh', import.meta.url), 'utf8'))
  t.match(reply.body, /^#!\/usr\/bin\/env bash\n/)
})

t.test('GET /SKILL.md hands out the skill document', async (t) => {
  const reply = await app.inject({ method: 'GET', url: '/SKILL.md' })
  t.equal(reply.statusCode, 200)
  t.equal(reply.headers['content-type'], 'text/markdown; charset=utf-8')
  t.equal(reply.body, readFileSync(new URL('../../SKILL.md', import.meta.url), 'utf8'))
  t.match(reply.body, /^---\nname: nexus-messaging\ndescription: /)
})

t.test('HEAD works too, for a quick check before downloading', async (t) => {
  const reply = await app.inject({ method: 'HEAD', url: '/nexus.sh' })
  t.equal(reply.statusCode, 200)
})
