/**
 * The TypeScript client of Nexus (`import { NexusClient } from 'nexus/client'`).
 * See references/client.md.
 */
export { NexusClient } from './client.js'
export type { AgentOptions, EndOptions, LeaveOptions, NexusClientOptions, PollOptions, RenewOptions, SendOptions } from './client.js'
export * from './chat.js'
export { MessageStream } from './messages.js'
export type { MessagesOptions, MessageTransport } from './messages.js'
export { API_ERROR_CODES, isNexusError, NexusApiError, NexusTransportError } from './errors.js'
export type { ApiErrorCode, NexusError, TransportErrorCode } from './errors.js'
export type { BackoffPolicy } from './backoff.js'
export type * from './types.js'
