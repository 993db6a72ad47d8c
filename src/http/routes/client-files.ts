import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

/**
 * The server hands out its own client: `GET /nexus.sh` (the bash client) and `GET /SKILL.md`
 * (the skill document that teaches an agent to use it), so an agent can install both from the
 * server it is about to talk to:
 *
 *     curl -fsSL <server>/nexus.sh -o nexus.sh && chmod +x nexus.sh
 *
 * Both files are read once, when the routes are registered, from the package root (the same
 * relative path works from src/http/routes and from dist/http/routes).
 */
export function clientFileRoutes(app: FastifyInstance): void {
  const script = readFileSync(new URL('../../../scripts/nexus.sh', import.meta.url))
  const skill = readFileSync(new URL('../../../SKILL.md', import.meta.url))

  app.get('/nexus.sh', { schema: { summary: 'The bash client, nexus.sh' } }, async (_request, reply) => {
    return reply.type('text/x-shellscript; charset=utf-8').header('content-disposition', 'inline; filename="nexus.sh"').send(script)
  })

  app.get('/SKILL.md', { schema: { summary: 'The skill document for agents using nexus.sh' } }, async (_request, reply) => {
    return reply.type('text/markdown; charset=utf-8').send(skill)
  })
}
