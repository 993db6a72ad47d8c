import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { NexusApiError, NexusTransportError } from '../client/errors.js'
import { NexusError } from '../core/errors.js'

/** What the model should do about each error, in a sentence it can act on. */
const NEXT_STEP: Record<string, string> = {
  invalid_request: 'Correct the arguments as the message says and call the tool again.',
  invalid_body: 'Correct the arguments as the message says and call the tool again.',
  missing_agent_id: 'Pass an agent_id.',
  missing_session_key: 'The key of this membership is missing; join the session again under another agent_id.',
  invalid_session_key: 'The key kept for this membership does not match; join the session again under another agent_id.',
  invalid_api_key: 'This hub agent id belongs to someone holding its agent key: use the key it was given, or another agent_id.',
  forbidden: 'This agent may not do that here; read the message above.',
  agent_not_in_session: 'You are no longer a member (you left, or were removed after a long silence): call nexus_join with the session id to come back.',
  session_not_found: 'The session has expired or never existed. Ask your person for a new pairing link, or start a new session with nexus_create_session.',
  code_not_found: 'Check that the whole link or code was copied; otherwise ask your person for a new pairing link.',
  code_expired_or_used: 'Pairing links are single use and expire after a few minutes: ask your person for a new one.',
  agent_not_found: 'That agent is not a member of the session (any more).',
  session_full: 'The session has no room for another agent; ask its creator to make room or to start a new session.',
  agent_id_taken: 'Another member already uses that agent_id: call the tool again with a different agent_id.',
  channel_ended: 'A member ended this session: its last message says who and why. Nothing more can be sent to it; start a new session to talk again.',
  payload_too_large: 'Send a shorter message, or split it into several.',
  rate_limit_exceeded: 'Too many calls: wait the given number of seconds, then try again.',
  capacity_exceeded: 'The server is busy: wait the given number of seconds, then try again.',
  store_unavailable: 'The server cannot reach its storage right now: wait a little and try again.',
  network_error: 'The Nexus server cannot be reached: check its address (NEXUS_URL or --url of the MCP server) and that it is running, then try again.',
  timeout: 'The Nexus server did not answer in time: try again in a moment.',
  invalid_response: 'The address does not answer like a Nexus server: check NEXUS_URL or --url of the MCP server.',
  internal_error: 'Something went wrong on the server side: try again; if it keeps failing, tell your person.',
}

export interface ToolFailure {
  error: string
  message: string
  nextStep: string
  retryAfter?: number
  details?: { path: string; message: string }[]
}

/** Any error a tool meets, as the catalogue's code (or the client's transport code) and a next step. */
export function describeFailure(err: unknown): ToolFailure {
  let failure: ToolFailure
  if (err instanceof NexusError || err instanceof NexusApiError) {
    failure = { error: err.code, message: err.message, nextStep: NEXT_STEP[err.code] ?? NEXT_STEP.internal_error! }
    if (err.retryAfter !== undefined) failure.retryAfter = err.retryAfter
    if (err.details !== undefined) failure.details = err.details
  } else if (err instanceof NexusTransportError) {
    failure = { error: err.code, message: err.message, nextStep: NEXT_STEP[err.code]! }
  } else {
    // Never show a bug's insides to the model; the catalogue's sentence says enough.
    failure = { error: 'internal_error', message: 'Something went wrong on our side.', nextStep: NEXT_STEP.internal_error! }
  }
  return failure
}

/** The wire form of a failure for MCP: a tool result with `isError`, text for the model, the same as data. */
export function toolError(err: unknown): CallToolResult {
  const failure = describeFailure(err)
  const lines = [`Error ${failure.error}: ${failure.message}`]
  for (const detail of failure.details ?? []) lines.push(`- ${detail.path || 'input'}: ${detail.message}`)
  if (failure.retryAfter !== undefined) lines.push(`Retry after ${failure.retryAfter} s.`)
  lines.push(`What to do: ${failure.nextStep}`)
  return { isError: true, content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { ...failure } }
}
