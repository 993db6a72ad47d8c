import type { FastifyInstance } from 'fastify'

/**
 * The methods each route path answers, to tell "no such route" (404 `not_found`) from "this
 * route, another method" (405 `method_not_allowed` with `Allow`). Filled from Fastify's onRoute
 * hook; read only on the not-found path, so it costs the routes served nothing.
 */
export class RouteMethods {
  readonly #routes: { pattern: RegExp; methods: Set<string> }[] = []
  readonly #byUrl = new Map<string, Set<string>>()

  /** Listens for every route registered from now on, in this scope and the ones below it. */
  collect(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) this.add(route.url, method)
    })
  }

  add(url: string, method: string): void {
    let methods = this.#byUrl.get(url)
    if (!methods) {
      methods = new Set()
      this.#byUrl.set(url, methods)
      this.#routes.push({ pattern: toPattern(url), methods })
    }
    methods.add(method.toUpperCase())
    // Fastify answers HEAD wherever it answers GET.
    if (method.toUpperCase() === 'GET') methods.add('HEAD')
  }

  /** The methods served at `path` (a request's path, without its query), sorted; empty when none. */
  allowed(path: string): string[] {
    const allowed = new Set<string>()
    for (const route of this.#routes) {
      if (route.pattern.test(path)) for (const method of route.methods) allowed.add(method)
    }
    return [...allowed].sort()
  }
}

/** `/v1/sessions/:id/messages` → a pattern matching any one segment where a parameter stands. */
function toPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}
