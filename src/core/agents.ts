import { nexusError } from './errors.js'

/** The shape of an agent id, as the protocol fixes it. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/
/** The server's own messages (the greeting) are sent as this id; no agent may take it. */
export const SYSTEM_AGENT_ID = 'system'

/**
 * Checks an agent id wherever one arrives (header, path, body, frame): absent is
 * `missing_agent_id`, malformed or reserved is `invalid_request`.
 */
export function requireAgentId(raw: string | undefined, path = 'X-Agent-Id'): string {
  if (raw === undefined || raw === '') throw nexusError('missing_agent_id')
  checkAgentId(raw, path)
  return raw
}

/** The same rule for an id that is present by construction (a body field, a path segment). */
export function checkAgentId(value: string, path: string): void {
  if (!AGENT_ID_PATTERN.test(value)) {
    throw nexusError('invalid_request', 'The agent id is not valid.', {
      details: [{ path, message: 'must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -' }],
    })
  }
  if (value === SYSTEM_AGENT_ID) {
    throw nexusError('invalid_request', 'The agent id "system" is reserved.', {
      details: [{ path, message: '"system" is reserved for the server' }],
    })
  }
}
