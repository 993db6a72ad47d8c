import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { WebSocket } from 'ws'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

/** A real server on 127.0.0.1 and a free port, closed when the test ends. */
export async function hubServer(t: Test, env: Record<string, string> = {}) {
  const app = await buildApp(loadConfig({ STORE: 'memory', RATE_LIMIT_MAX: '1000000', ...env }), { logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  return { app, port, base: `http://127.0.0.1:${port}`, hubUrl: `ws://127.0.0.1:${port}` }
}

export type Frame = { type: string } & Record<string, any>

/** A WebSocket speaking raw frames: send objects (or strings), wait for the frame you expect. */
export interface RawClient {
  ws: WebSocket
  frames: Frame[]
  send(frame: unknown): void
  sendRaw(data: string | Buffer, options?: { binary?: boolean }): void
  /** The next frame (not yet taken) matching `match`, waiting up to `ms`. */
  next(match?: Partial<Frame> | ((frame: Frame) => boolean), ms?: number): Promise<Frame>
  /** Waits `ms` and returns every frame not yet taken that matches (taking them). */
  drain(match?: Partial<Frame> | ((frame: Frame) => boolean), ms?: number): Promise<Frame[]>
  closed: Promise<{ code: number; reason: string }>
  close(): Promise<void>
}

const matches = (frame: Frame, match: Partial<Frame> | ((frame: Frame) => boolean) | undefined) => {
  if (match === undefined) return true
  if (typeof match === 'function') return match(frame)
  return Object.entries(match).every(([key, value]) => frame[key] === value)
}

export async function rawClient(t: Test, url: string, options: { headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<RawClient> {
  const ws = new WebSocket(url, { headers: options.headers, autoPong: options.autoPong ?? true })
  const frames: Frame[] = []
  const taken = new Set<Frame>()
  const waiters = new Set<() => void>()
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()))
    for (const wake of [...waiters]) wake()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() })
      for (const wake of [...waiters]) wake()
    })
  })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  t.teardown(() => ws.terminate())
  const find = (match: Parameters<RawClient['next']>[0]) => frames.find((frame) => !taken.has(frame) && matches(frame, match))
  return {
    ws,
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data, opts) => ws.send(data, { binary: opts?.binary ?? false }),
    next(match, ms = 5000) {
      return new Promise<Frame>((resolve, reject) => {
        const check = () => {
          const found = find(match)
          if (found) {
            taken.add(found)
            cleanup()
            resolve(found)
          } else if (ws.readyState === WebSocket.CLOSED) {
            cleanup()
            reject(new Error(`socket closed while waiting for ${JSON.stringify(typeof match === 'function' ? 'a frame' : match)}`))
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`timed out waiting for ${JSON.stringify(typeof match === 'function' ? 'a frame' : match)}; got ${JSON.stringify(frames.filter((f) => !taken.has(f)))}`))
        }, ms)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    async drain(match, ms = 200) {
      await new Promise((resolve) => setTimeout(resolve, ms))
      const found = frames.filter((frame) => !taken.has(frame) && matches(frame, match))
      for (const frame of found) taken.add(frame)
      return found
    },
    closed,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return
      ws.close()
      await closed
    },
  }
}

/** Agent keys the hubs of these tests handed out, by hub (its origin) and agent id, as a client keeps them. */
const agentKeys = new Map<string, string>()
const keyName = (hubUrl: string, agentId: string) => `${new URL(hubUrl).origin}\n${agentId}`

/** The key a hub handed out to `agentId` in this test run (undefined before its first connect). */
export function keyOf(hubUrl: string, agentId: string): string | undefined {
  return agentKeys.get(keyName(hubUrl, agentId))
}

/** Keeps the key a `connected` frame handed out, as a client would. */
export function keepKey(hubUrl: string, connected: Frame): void {
  if (typeof connected.agent_key === 'string') agentKeys.set(keyName(hubUrl, connected.agent_id), connected.agent_key)
}

/** A raw client that has said `connect` (with the agent's key, once it has one) and got `connected`. */
export async function agent(t: Test, hubUrl: string, agentId: string, extra: Record<string, unknown> = {}) {
  const client = await rawClient(t, hubUrl)
  const apiKey = keyOf(hubUrl, agentId)
  client.send({ type: 'connect', agent_id: agentId, ...(apiKey !== undefined ? { api_key: apiKey } : {}), ...extra })
  const connected = await client.next({ type: 'connected' })
  keepKey(hubUrl, connected)
  return Object.assign(client, { connected, agentId })
}

/** A provider of `serviceId` and a consumer in an accepted channel. */
export async function openChat(t: Test, hubUrl: string, names = { provider: 'weather-bot', consumer: 'alice', service: 'weather' }) {
  const provider = await agent(t, hubUrl, names.provider)
  provider.send({ type: 'register', service_id: names.service, name: 'Weather' })
  await provider.next({ type: 'registered' })
  const consumer = await agent(t, hubUrl, names.consumer)
  consumer.send({ type: 'chat_request', request_id: 'r1', service_id: names.service, message: 'hi' })
  const request = await provider.next({ type: 'chat_request' })
  provider.send({ type: 'chat_accept', consumer_id: request.consumer_id, request_id: request.request_id })
  const accepted = await consumer.next({ type: 'chat_accept' })
  await provider.next({ type: 'chat_accept' })
  return { provider, consumer, channelId: accepted.channel_id as string }
}

export async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export async function http(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return { status: res.status, body: (await res.json()) as any }
}

export type App = FastifyInstance

/** A TCP proxy in front of the hub whose connections the test can cut, as a network would. */
export async function tcpProxy(t: Test, targetPort: number) {
  const { createServer, connect } = await import('node:net')
  const live = new Set<import('node:net').Socket>()
  let connections = 0
  const server = createServer((client) => {
    connections++
    const upstream = connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      live.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => {
        live.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  t.teardown(() => {
    for (const socket of live) socket.destroy()
    server.close()
  })
  return {
    url: `ws://127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    /** Drops every connection at once, both ways, with whatever was in flight. */
    cut() {
      for (const socket of live) socket.destroy()
    },
  }
}
