import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../core/clock.js'
import { checkAgentId } from '../core/agents.js'
import { isNexusError, nexusError } from '../core/errors.js'
import type { Identities } from '../core/identities.js'
import type { SessionService } from '../core/sessions.js'
import type { ChannelDirectory } from './channels.js'
import { CLOSE, type Connection } from './connection.js'
import type { Delivery } from './delivery.js'
import { HubError } from './errors.js'
import { type ClientFrame, DEFAULT_HISTORY_LIMIT, type FrameOf, type MessageBody, messageBody, type ServerFrame } from './frames.js'
import type { AgentChannel, Registry } from './registry.js'
import type { Services } from './services.js'

/** What the handlers work with: the core's sessions and the hub's own state. */
export interface HubContext {
  sessions: SessionService
  /** Who may wear an agent id: the key check of every `connect`. */
  identities: Identities
  registry: Registry
  channels: ChannelDirectory
  services: Services
  delivery: Delivery
  log: FastifyBaseLogger
  /** The app's clock (injected in tests): when providers left, when requests were made. */
  clock: Clock
  /** A history reply stops adding older messages before it would pass this many bytes (it says `truncated`). */
  maxHistoryBytes: number
  /** Direct channels being made, by pair, so two first messages at once make one channel. */
  opening: Map<string, Promise<string>>
}

/** Sends to the agent's live connection, or holds the frame until it connects. */
export function tell(ctx: HubContext, agentId: string, frame: ServerFrame): void {
  const connection = ctx.registry.online(agentId)
  if (!connection) return ctx.registry.hold(agentId, frame)
  connection.send(frame, (err) => {
    if (err) ctx.registry.hold(agentId, frame)
  })
}

/** Adds a channel to an agent's record (once) and, if it is online, starts delivering it. */
export function give(ctx: HubContext, agentId: string, channelId: string, channel: AgentChannel): void {
  const record = ctx.registry.ensure(agentId)
  if (!record.channels.has(channelId)) record.channels.set(channelId, channel)
  ctx.channels.ensure(channelId).holders.add(agentId)
  ctx.delivery.follow(record, channelId)
}

/** Forgets a channel for one agent: no more delivery, no more key. */
export function forget(ctx: HubContext, agentId: string, channelId: string): void {
  const record = ctx.registry.agent(agentId)
  record?.channels.delete(channelId)
  ctx.channels.get(channelId)?.holders.delete(agentId)
  if (record?.connection) ctx.delivery.unfollow(record.connection, channelId)
}

/** The one entry for a parsed frame. Throws catalogue or hub errors, which become `error` frames. */
export async function handleFrame(ctx: HubContext, connection: Connection, frame: ClientFrame): Promise<void> {
  if (frame.type === 'ping') {
    connection.send({ type: 'pong', timestamp: new Date().toISOString(), ...(frame.request_id !== undefined ? { request_id: frame.request_id } : {}) })
    return
  }
  if (frame.type === 'connect') return connect(ctx, connection, frame)
  const agentId = connection.agentId
  if (agentId === undefined) throw nexusError('missing_agent_id', 'Send connect {agent_id} first, or give agent_id on the upgrade.')
  switch (frame.type) {
    case 'register':
      return register(ctx, connection, agentId, frame)
    case 'chat_request':
      return requestChat(ctx, agentId, frame)
    case 'chat_accept':
      return acceptChat(ctx, connection, agentId, frame)
    case 'chat_reject':
      return rejectChat(ctx, agentId, frame)
    case 'chat_message':
      return chatMessage(ctx, connection, agentId, frame)
    case 'chat_end':
      return endChat(ctx, connection, agentId, frame)
    case 'chat_history':
      return history(ctx, connection, agentId, frame)
  }
}

async function connect(ctx: HubContext, connection: Connection, frame: FrameOf<'connect'>): Promise<void> {
  if (connection.agentId !== undefined) {
    if (connection.agentId !== frame.agent_id) throw nexusError('invalid_request', `This connection already speaks for ${connection.agentId}.`)
    connection.send({ type: 'connected', client_id: connection.clientId, agent_id: connection.agentId, resumed: false })
    return
  }
  // The key before anything else: a refused connect learns nothing of the id (online or not, its channels, its services).
  const worn = await ctx.identities.wear(frame.agent_id, frame.api_key)
  // The socket may have closed while the key was being checked: nothing to claim then.
  if (!connection.open) return
  const { record, replaced } = ctx.registry.claim(connection, frame.agent_id)
  if (replaced) {
    ctx.delivery.detach(replaced)
    replaced.close(CLOSE.replaced, 'another connection took over this agent id')
  }
  connection.agentId = record.agentId
  ctx.services.providerBack(record.agentId)
  connection.send({
    type: 'connected',
    client_id: connection.clientId,
    agent_id: record.agentId,
    ...(worn.agentKey !== undefined ? { agent_key: worn.agentKey } : {}),
    resumed: replaced !== undefined,
  })
  // What waited for it: control frames first (an accept names the channel), then each channel from its cursor.
  for (const held of record.outbox.splice(0)) {
    connection.send(held, (err) => {
      if (err) ctx.registry.hold(record.agentId, held)
    })
  }
  ctx.delivery.attach(connection, record, frame.cursors)
}

function register(ctx: HubContext, connection: Connection, agentId: string, frame: FrameOf<'register'>): void {
  ctx.services.register(
    { serviceId: frame.service_id, providerId: agentId, name: frame.name, description: frame.description },
    (id) => ctx.registry.online(id) !== undefined,
    ctx.clock(),
  )
  connection.send({ type: 'registered', service_id: frame.service_id })
}

function requestChat(ctx: HubContext, agentId: string, frame: FrameOf<'chat_request'>): void {
  const now = ctx.clock()
  const service = ctx.services.get(frame.service_id, now)
  if (!service) throw new HubError('service_not_found', `No provider has registered the service ${frame.service_id}.`)
  if (service.providerId === agentId) throw nexusError('invalid_request', 'You provide this service yourself.')
  const provider = ctx.registry.online(service.providerId)
  if (!provider) throw new HubError('provider_offline', `The provider of ${frame.service_id} is not connected right now; try again later.`)
  ctx.services.addRequest(service.providerId, { requestId: frame.request_id, consumerId: agentId, serviceId: frame.service_id, at: now })
  provider.send({ type: 'chat_request', request_id: frame.request_id, consumer_id: agentId, service_id: frame.service_id, message: frame.message ?? '' })
}

async function acceptChat(ctx: HubContext, connection: Connection, agentId: string, frame: FrameOf<'chat_accept'>): Promise<void> {
  const request = ctx.services.takeRequest(agentId, frame.consumer_id, frame.request_id, ctx.clock())
  const created = await ctx.sessions.create({ creatorAgentId: agentId })
  const channelId = created.session.id
  const joined = await ctx.sessions.join(channelId, request.consumerId)
  ctx.channels.add({ id: channelId, kind: 'service', serviceId: request.serviceId, providerId: agentId, consumerId: request.consumerId, holders: new Set() })
  const accepted = {
    type: 'chat_accept',
    request_id: request.requestId,
    channel_id: channelId,
    provider_id: agentId,
    consumer_id: request.consumerId,
    service_id: request.serviceId,
  }
  connection.send(accepted)
  tell(ctx, request.consumerId, accepted)
  give(ctx, agentId, channelId, { sessionKey: created.sessionKey, cursor: -1 })
  give(ctx, request.consumerId, channelId, { sessionKey: joined.sessionKey, cursor: -1 })
}

function rejectChat(ctx: HubContext, agentId: string, frame: FrameOf<'chat_reject'>): void {
  const request = ctx.services.takeRequest(agentId, frame.consumer_id, frame.request_id, ctx.clock())
  tell(ctx, request.consumerId, {
    type: 'chat_reject',
    request_id: request.requestId,
    service_id: request.serviceId,
    provider_id: agentId,
    reason: frame.reason ?? 'Service unavailable',
  })
}

async function chatMessage(ctx: HubContext, connection: Connection, agentId: string, frame: FrameOf<'chat_message'>): Promise<void> {
  const record = ctx.registry.ensure(agentId)
  const messageId = frame.message_id
  // A client that lost its connection before the ack sends again with the same id: answer, store nothing twice.
  const earlier = messageId === undefined ? undefined : record.recentSends.get(messageId)
  if (earlier) {
    connection.send(await earlier)
    return
  }
  const ack = sendMessage(ctx, agentId, frame)
  if (messageId !== undefined) {
    record.rememberSend(messageId, ack)
    ack.catch(() => record.recentSends.delete(messageId))
  }
  connection.send(await ack)
}

async function sendMessage(ctx: HubContext, agentId: string, frame: FrameOf<'chat_message'>): Promise<ServerFrame> {
  // Named by id (the usual case) it needs no lookup, and no await.
  const channelId = frame.channel_id ?? await channelFor(ctx, agentId, frame)
  const held = ctx.registry.ensure(agentId).channels.get(channelId)
  const input = typeof frame.content === 'string' ? { text: frame.content } : { json: frame.content }
  // The core checks membership, the key and the end (`channel_ended`), redacts, stores and numbers the message.
  let sent
  try {
    sent = await ctx.sessions.send(channelId, agentId, held?.sessionKey, input)
  } catch (err) {
    // A pair's channel that was ended where this hub did not see it (over HTTP with no member
    // here, on another instance): the pair gets a new one, as after an end seen here.
    if (frame.channel_id === undefined && frame.service_id === undefined && isNexusError(err) && err.code === 'channel_ended') {
      ctx.channels.retire(channelId)
      return sendMessage(ctx, agentId, frame)
    }
    throw err
  }
  const { message } = sent
  // A member that joined over HTTP and writes through the hub is pushed this channel from now on.
  if (!held) give(ctx, agentId, channelId, { sessionKey: undefined, cursor: message.cursor })
  const delivered = await ctx.delivery.delivered(channelId, agentId, message.cursor)
  return {
    type: 'chat_message_ack',
    message_id: frame.message_id ?? message.id,
    id: message.id,
    channel_id: channelId,
    cursor: String(message.cursor),
    status: delivered ? 'delivered' : 'queued',
    verified: message.verified,
    redactions: message.redactions,
  }
}

/** The channel a message goes to: named, the sender's chat with a service, or its channel with one agent. */
async function channelFor(ctx: HubContext, agentId: string, frame: FrameOf<'chat_message'>): Promise<string> {
  if (frame.channel_id !== undefined) return frame.channel_id
  if (frame.service_id !== undefined) return serviceChannel(ctx, agentId, frame.service_id, frame.target_agent)
  const target = frame.target_agent!
  checkAgentId(target, 'target_agent')
  if (target === agentId) throw nexusError('invalid_request', 'An agent cannot message itself.', { details: [{ path: 'target_agent', message: 'is you' }] })
  const existing = ctx.channels.forPair(agentId, target)
  if (existing) return existing
  const key = agentId < target ? `${agentId}\n${target}` : `${target}\n${agentId}`
  let opening = ctx.opening.get(key)
  if (!opening) {
    opening = openDirect(ctx, agentId, target).finally(() => ctx.opening.delete(key))
    ctx.opening.set(key, opening)
  }
  return opening
}

/** A direct channel for a pair, made on the first message: the sender creates the session, the target is joined. */
async function openDirect(ctx: HubContext, agentId: string, target: string): Promise<string> {
  const created = await ctx.sessions.create({ creatorAgentId: agentId })
  const channelId = created.session.id
  const joined = await ctx.sessions.join(channelId, target)
  ctx.channels.add({ id: channelId, kind: 'direct', providerId: agentId, consumerId: target, holders: new Set() })
  give(ctx, agentId, channelId, { sessionKey: created.sessionKey, cursor: -1 })
  give(ctx, target, channelId, { sessionKey: joined.sessionKey, cursor: -1 })
  return channelId
}

function serviceChannel(ctx: HubContext, agentId: string, serviceId: string, target: string | undefined): string {
  const provides = ctx.services.get(serviceId, ctx.clock())?.providerId === agentId
  const consumerId = provides ? target : agentId
  if (consumerId === undefined) {
    throw nexusError('invalid_request', 'You provide this service: name the consumer in `target_agent`, or use `channel_id`.', {
      details: [{ path: 'target_agent', message: 'is required of the provider' }],
    })
  }
  const channelId = ctx.channels.forService(serviceId, consumerId)
  if (!channelId) throw nexusError('session_not_found', `No open channel for ${serviceId}${provides ? ` with ${consumerId}` : ''}; a chat starts with chat_request.`)
  return channelId
}

/**
 * Ends the channel with the core's rule (the same as POST /v1/sessions/:id/end): its final
 * message marks the end's place, and every holder's pump turns it into chat_end after the
 * messages before it. The connection speaks for the agent; the key is the one the hub holds for
 * it in this channel, when it holds one.
 */
async function endChat(ctx: HubContext, connection: Connection, agentId: string, frame: FrameOf<'chat_end'>): Promise<void> {
  const channelId = frame.channel_id
  const held = ctx.registry.agent(agentId)?.channels.get(channelId)
  const { end } = await ctx.sessions.end(channelId, agentId, held?.sessionKey, { reason: frame.reason }, true)
  ctx.channels.retire(channelId)
  // An ender that holds no hub record of the channel has no pump to tell it: it hears here.
  if (!ctx.channels.get(channelId)?.holders.has(agentId)) connection.send({ type: 'chat_end', channel_id: channelId, ended_by: end.by, reason: end.reason })
  ctx.delivery.kick(channelId)
}

async function history(ctx: HubContext, connection: Connection, agentId: string, frame: FrameOf<'chat_history'>): Promise<void> {
  // At the reader's pace: nothing is read for a socket that has not taken what it was sent.
  if (!(await connection.whenDrained())) return
  const channelId = frame.channel_id ?? serviceChannel(ctx, agentId, frame.service_id!, frame.target_agent)
  const limit = frame.limit ?? DEFAULT_HISTORY_LIMIT
  // Members only (the core's poll says so, and with REQUIRE_KEY_FOR_READS the key the hub holds
  // for the agent in this channel); the newest cursor, then the oldest still held.
  const sessionKey = ctx.registry.agent(agentId)?.channels.get(channelId)?.sessionKey
  const head = await ctx.sessions.poll(channelId, agentId, { after: Number.MAX_SAFE_INTEGER, limit: 1, sessionKey })
  const last = head.nextCursor
  const first = await ctx.sessions.poll(channelId, agentId, { limit: 1, sessionKey })
  const oldest = first.messages[0]?.cursor
  const total = oldest === undefined ? 0 : last - oldest + 1
  // The newest `limit` messages, read forward a page (a core byte budget) at a time, keeping the
  // newest that fit in maxHistoryBytes on the wire: never the whole window in memory at once.
  const serviceId = ctx.channels.get(channelId)?.serviceId
  // The reply's bytes on the wire: the envelope (`truncated` included), then each message and its comma.
  let bytes = Buffer.byteLength(JSON.stringify({ type: 'chat_history_response', request_id: frame.request_id, channel_id: channelId, messages: [], total, truncated: true }))
  const kept: { body: MessageBody; bytes: number }[] = []
  let truncated = false
  let cursor = last - limit
  while (total > 0 && cursor < last) {
    const page = await ctx.sessions.poll(channelId, agentId, { ...(cursor >= 0 ? { after: cursor } : {}), limit: last - Math.max(cursor, -1), sessionKey })
    for (const message of page.messages) {
      const body = messageBody(message, channelId, serviceId)
      const size = Buffer.byteLength(JSON.stringify(body)) + 1
      kept.push({ body, bytes: size })
      bytes += size
      while (bytes > ctx.maxHistoryBytes && kept.length > 1) {
        bytes -= kept.shift()!.bytes
        truncated = true
      }
    }
    if (!page.hasMore || page.messages.length === 0) break
    cursor = page.nextCursor
  }
  const messages = kept.map((entry) => entry.body)
  connection.send({
    type: 'chat_history_response',
    request_id: frame.request_id,
    channel_id: channelId,
    messages,
    total,
    ...(truncated ? { truncated: true } : {}),
  })
  if (!ctx.registry.ensure(agentId).channels.has(channelId) && !head.ended) give(ctx, agentId, channelId, { sessionKey: undefined, cursor: last })
}
