/**
 * HTTP requests by method, route pattern and status, and their latency, kept in plain maps and
 * turned into Prometheus series only when scraped. prom-client's own counter and histogram build
 * a label key from an object on every call: 2.5-4 µs a request on the loaded test machine, where
 * this costs a few hundred nanoseconds (references/operations.md, "What it costs").
 */

interface RouteSeries {
  readonly method: string
  readonly route: string
  /** Requests answered, by status. */
  readonly statuses: Map<number, number>
  /** Requests per bucket: `buckets[i]` counts those at most `bounds[i]`; the last, those beyond. */
  readonly buckets: Float64Array
  sum: number
  count: number
}

/** One value of a series as prom-client's registry writes it. */
interface SeriesValue {
  value: number
  labels: Record<string, string | number>
  metricName?: string
}

/** The shape prom-client's registry reads from each metric it holds. */
export interface CollectedMetric {
  name: string
  help: string
  type: 'counter' | 'histogram'
  values: SeriesValue[]
  aggregator: 'sum'
}

export class RequestSeries {
  /** Seconds: the upper bound of each latency bucket. */
  readonly #bounds: readonly number[]
  /** route → method → series: two lookups by strings fastify already holds, nothing built per request. */
  readonly #byRoute = new Map<string, Map<string, RouteSeries>>()

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds
  }

  record(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#byRoute.get(route)
    if (byMethod === undefined) {
      byMethod = new Map()
      this.#byRoute.set(route, byMethod)
    }
    let series = byMethod.get(method)
    if (series === undefined) {
      series = { method, route, statuses: new Map(), buckets: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 }
      byMethod.set(method, series)
    }
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1)
    let bucket = 0
    while (bucket < this.#bounds.length && seconds > this.#bounds[bucket]!) bucket++
    series.buckets[bucket]!++
    series.sum += seconds
    series.count++
  }

  #all(): RouteSeries[] {
    return [...this.#byRoute.values()].flatMap((byMethod) => [...byMethod.values()])
  }

  /** The request counter, as the registry reads it. */
  counter(name: string, help: string): { name: string; get: () => CollectedMetric } {
    return {
      name,
      get: () => ({
        name,
        help,
        type: 'counter',
        aggregator: 'sum',
        values: this.#all().flatMap(({ method, route, statuses }) =>
          [...statuses].map(([status, value]) => ({ value, labels: { method, route, status } }))),
      }),
    }
  }

  /** The latency histogram, as the registry reads it: cumulative buckets, then sum and count. */
  histogram(name: string, help: string): { name: string; get: () => CollectedMetric } {
    return {
      name,
      get: () => ({
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: this.#all().flatMap(({ method, route, buckets, sum, count }) => {
          const values: SeriesValue[] = []
          let cumulative = 0
          this.#bounds.forEach((bound, i) => {
            cumulative += buckets[i]!
            values.push({ metricName: `${name}_bucket`, value: cumulative, labels: { method, route, le: bound } })
          })
          values.push({ metricName: `${name}_bucket`, value: count, labels: { method, route, le: '+Inf' } })
          values.push({ metricName: `${name}_sum`, value: sum, labels: { method, route } })
          values.push({ metricName: `${name}_count`, value: count, labels: { method, route } })
          return values
        }),
      }),
    }
  }
}
