/**
 * Makes a hub identity for an operator to provision: a new agent key, and its line for the
 * HUB_IDENTITIES file (references/hub.md, "Identity").
 *
 *   npm run --silent hub-identity -- bank-bot >> identities    (node dist/hub-identity.js in production)
 *
 * The line (`agent_id key_digest`) goes to stdout, so it can be appended to the file as above; the
 * key goes to stderr, for the operator to hand to the agent, and is not kept anywhere. With
 * `--json`, both go to stdout as one JSON object, for a script.
 */
import { checkAgentId } from './core/agents.js'
import { hashSessionKey, newAgentKey } from './core/ids.js'

function main(args: string[]): number {
  const json = args.includes('--json')
  const names = args.filter((arg) => arg !== '--json')
  if (names.length !== 1) {
    process.stderr.write('usage: hub-identity [--json] AGENT_ID\n')
    return 2
  }
  const agentId = names[0]!
  try {
    checkAgentId(agentId, 'AGENT_ID')
  } catch {
    process.stderr.write(`hub-identity: ${JSON.stringify(agentId.slice(0, 140))} is not a valid agent id (1 to 128 of A-Z a-z 0-9 _ -, not "system")\n`)
    return 2
  }
  const agentKey = newAgentKey()
  const line = `${agentId} ${hashSessionKey(agentKey)}`
  if (json) {
    process.stdout.write(`${JSON.stringify({ agent_id: agentId, agent_key: agentKey, line })}\n`)
  } else {
    process.stdout.write(`${line}\n`)
    process.stderr.write(`agent key of ${agentId} (shown this once; the agent sends it as api_key / X-Api-Key):\n${agentKey}\n`)
  }
  return 0
}

process.exitCode = main(process.argv.slice(2))
