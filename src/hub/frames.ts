import secureJson from 'secure-json-parse'
import { z } from 'zod'
import { nexusError } from '../core/errors.js'
import { cursorSchema } from '../core/inputs.js'
import { checkEnvelopeBounds } from '../core/json-bounds.js'
import { MAX_PAGE } from '../core/limits.js'
import type { JsonValue, StoredMessage } from '../store/store.js'
import { iso } from '../http/views.js'

/**
 * The frames of the hub (references/hub.md): the schemas of what clients send, parsed here and
 * nowhere else, and the shapes of what the hub sends back. Keys are snake_case, as the
 * published protocol has them. Unknown keys are ignored; missing or mistyped ones are refused.
 */

/** Service ids name a service, not an agent: a little wider than agent ids (dots and colons too). */
export const SERVICE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/
/** The shape of the ids a client picks to match replies to requests. */
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/
const TEXT_MAX = 4000

export const DEFAULT_HISTORY_LIMIT = 50

const serviceId = z.string().regex(SERVICE_ID_PATTERN, 'must be 1 to 128 characters of A-Z, a-z, 0-9, ., _, : and -')
const clientId = z.string().regex(CLIENT_ID_PATTERN, 'must be 1 to 128 characters of A-Z, a-z, 0-9, ., _, : and -')
/** Agent ids are checked by the core (core/agents.ts); here only their type. */
const agentId = z.string()
const text = z.string().max(TEXT_MAX)

/** A string is sent as the message's text; an object or an array as its JSON. */
const content = z.json().refine(
  (value) => (typeof value === 'string' ? value.length > 0 : value !== null && typeof value === 'object'),
  'must be a non-empty string, an object or an array',
)

export const clientFrames = {
  connect: z.object({
    agent_id: agentId,
    /** The agent's key (references/hub.md, "Identity"); needed by every connect but an id's first. */
    api_key: z.string().max(512).optional(),
    client_type: z.string().max(64).optional(),
    /** Read and ignored: older clients send it; the agent key now does what it did (take over a live connection). */
    resume_token: z.string().max(128).optional(),
    /** Extension: the last cursor the client holds per channel, so a reconnect loses nothing in flight. */
    cursors: z.record(z.string(), cursorSchema).optional(),
  }),
  ping: z.object({ request_id: clientId.optional() }),
  register: z.object({ service_id: serviceId, name: text.optional(), description: text.optional() }),
  chat_request: z.object({ request_id: clientId, service_id: serviceId, message: text.optional() }),
  chat_accept: z.object({ consumer_id: agentId, request_id: clientId.optional() }),
  chat_reject: z.object({ consumer_id: agentId, request_id: clientId.optional(), reason: text.optional() }),
  chat_message: z
    .object({
      content,
      channel_id: z.string().optional(),
      service_id: serviceId.optional(),
      target_agent: agentId.optional(),
      message_id: clientId.optional(),
    })
    .refine((f) => f.channel_id !== undefined || f.service_id !== undefined || f.target_agent !== undefined, {
      message: 'name the channel: `channel_id`, `service_id` or `target_agent`',
    }),
  chat_end: z.object({ channel_id: z.string(), reason: text.optional() }),
  chat_history: z
    .object({
      request_id: clientId,
      channel_id: z.string().optional(),
      service_id: serviceId.optional(),
      /** With `service_id`, a provider names which consumer's channel. */
      target_agent: agentId.optional(),
      limit: z.number().int().min(1).max(MAX_PAGE).optional(),
    })
    .refine((f) => f.channel_id !== undefined || f.service_id !== undefined, {
      message: 'name the channel: `channel_id` or `service_id`',
    }),
} as const

export type FrameType = keyof typeof clientFrames
export type ClientFrame = { [K in FrameType]: { type: K } & z.infer<(typeof clientFrames)[K]> }[FrameType]
export type FrameOf<K extends FrameType> = Extract<ClientFrame, { type: K }>

/** What a client put in a frame to match the reply, echoed on an error about it. */
export interface FrameEcho {
  type?: string
  request_id?: string
  channel_id?: string
}

/**
 * Reads one frame: JSON text holding an object with a known `type`, and the keys that type
 * needs. Throws a catalogue error (`invalid_body`, `invalid_request`) otherwise, with whatever
 * could be read for the error frame to echo.
 */
export function parseFrame(raw: string, echo: FrameEcho): ClientFrame {
  let value: unknown
  try {
    value = secureJson.parse(raw, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch {
    throw nexusError('invalid_body', 'The frame is not valid JSON.')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw nexusError('invalid_body', 'A frame is a JSON object with a `type`.')
  }
  const record = value as Record<string, unknown>
  if (typeof record.request_id === 'string') echo.request_id = record.request_id
  else if (typeof record.message_id === 'string') echo.request_id = record.message_id
  if (typeof record.channel_id === 'string') echo.channel_id = record.channel_id
  const type = record.type
  if (typeof type !== 'string') {
    throw nexusError('invalid_request', 'A frame needs a `type`.', { details: [{ path: 'type', message: 'is required' }] })
  }
  if (!Object.hasOwn(clientFrames, type)) {
    throw nexusError('invalid_request', `Unknown frame type ${JSON.stringify(type.slice(0, 40))}.`, {
      details: [{ path: 'type', message: `must be one of ${Object.keys(clientFrames).join(', ')}` }],
    })
  }
  echo.type = type
  // Before zod, whose `z.json()` for a message's content is recursive.
  checkEnvelopeBounds(record, 'the frame')
  const parsed = clientFrames[type as FrameType].safeParse(record)
  if (!parsed.success) {
    throw nexusError('invalid_request', `The ${type} frame is not valid; see details.`, {
      details: parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || type, message: issue.message })),
    })
  }
  // zod's output is a fresh object of its own: give it its type in place rather than copy every key.
  const frame = parsed.data as Record<string, unknown>
  frame.type = type
  return frame as ClientFrame
}

/** A chat message as the hub lists it in a history; delivered, it is a frame of type chat_message. */
export type MessageBody = {
  message_id: string
  channel_id: string
  service_id?: string | undefined
  sender_id: string
  content: string | JsonValue
  /** Only when a message (sent over HTTP) has both text and JSON: `content` is the text. */
  json?: JsonValue | undefined
  timestamp: string
  cursor: string
  verified: boolean
  redactions: string[]
}

/** The frame that delivers a message: its body with the type in front. */
export type MessageFrame = { type: 'chat_message' } & MessageBody

/** A message in a history reply. */
export function messageBody(message: StoredMessage, channelId: string, serviceId: string | undefined): MessageBody {
  return messageShape(undefined, message, channelId, serviceId)
}

/** A message delivered to an agent. */
export function messageFrame(message: StoredMessage, channelId: string, serviceId: string | undefined): MessageFrame {
  return messageShape('chat_message', message, channelId, serviceId) as MessageFrame
}

/**
 * Both in one literal, every key in place: what a message lacks (a service, JSON beside its
 * text, the type in a history) is undefined, which JSON leaves out. Built with spreads, each
 * delivered message cost three more objects and a copy of every key.
 */
function messageShape(type: 'chat_message' | undefined, message: StoredMessage, channelId: string, serviceId: string | undefined) {
  return {
    type,
    message_id: message.id,
    channel_id: channelId,
    service_id: serviceId,
    sender_id: message.agentId,
    content: message.text ?? message.json ?? '',
    json: message.text !== undefined ? message.json : undefined,
    timestamp: iso(message.createdAt),
    cursor: String(message.cursor),
    verified: message.verified,
    redactions: message.redactions,
  }
}

/** Every frame the hub sends is a JSON object with a `type`. */
export type ServerFrame = { type: string } & Record<string, unknown>
