import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface Delivery {
  headers: Record<string, string>
  body: string
  json: { type: string; sessionId: string; agentId: string; cursor: string; messages: { cursor: string; text?: string; agentId: string }[] }
}

/**
 * A webhook receiver on 127.0.0.1 for tests: records what it is sent, and answers as `mode`
 * says: 'ok' (204), 'fail' (500), or 'hang' (never answers).
 */
export class Receiver {
  readonly deliveries: Delivery[] = []
  mode: 'ok' | 'fail' | 'hang' = 'ok'
  /** Calls answered with a failure (or left hanging). */
  refused = 0
  #server: Server | undefined
  #port = 0
  readonly #hanging = new Set<ServerResponse>()

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => this.#handle(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.#server = server
    this.#port = (server.address() as AddressInfo).port
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`
  }

  /** Goes down (connections refused); `start(port)` brings it back on the same port. */
  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy()
    this.#hanging.clear()
    const server = this.#server
    this.#server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  get port(): number {
    return this.#port
  }

  /** Texts received, in order of arrival, across every delivery. */
  texts(): string[] {
    return this.deliveries.flatMap((d) => d.json.messages.map((m) => m.text ?? ''))
  }

  verify(secret: string): boolean {
    const hook = new Webhook(secret)
    return this.deliveries.every((d) => {
      try {
        hook.verify(d.body, d.headers)
        return true
      } catch {
        return false
      }
    })
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (this.mode === 'hang') {
        this.refused++
        this.#hanging.add(res)
        return
      }
      if (this.mode === 'fail') {
        this.refused++
        res.writeHead(500).end('no')
        return
      }
      const body = Buffer.concat(chunks).toString('utf8')
      const headers: Record<string, string> = {}
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[name] = String(req.headers[name])
      this.deliveries.push({ headers, body, json: JSON.parse(body) })
      res.writeHead(204).end()
    })
  }
}

/** Waits until `condition` holds, checking every few milliseconds; never longer than `ms`. */
export async function until(condition: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return true
}
