import { catalogue } from '../../src/core/errors.js'
import { hubErrors } from '../../src/hub/errors.js'

/**
 * What the fuzz suite shares: how many cases to run, the findings it knows are still open, and
 * what a well-formed error looks like.
 *
 * `npm test` asks for 1500 requests per store and 1500 hub frames, each run cut at a time
 * budget (on a busy machine it reaches fewer, never fewer than MIN_CASES);
 * `NEXUS_FUZZ_RUNS=200000` runs that many cases per property, with no budget (a long run).
 * `NEXUS_FUZZ_SEED` replays a run that failed (the report names its seed and shrunk case).
 */
export function fuzzRuns(fallback: number): number {
  const asked = Number(process.env.NEXUS_FUZZ_RUNS)
  return Number.isInteger(asked) && asked > 0 ? asked : fallback
}

/**
 * fast-check options for a property of `runs` cases. In `npm test` a run also stops after
 * `budgetMs` (a loaded machine then runs fewer cases, never for longer); a long run asked for
 * with NEXUS_FUZZ_RUNS runs every case.
 */
export function fuzzOptions(runs: number, budgetMs: number): { numRuns: number; seed?: number; interruptAfterTimeLimit?: number; markInterruptAsFailure: false } {
  const seed = fuzzSeed()
  return {
    numRuns: runs,
    ...(seed !== undefined ? { seed } : {}),
    ...(process.env.NEXUS_FUZZ_RUNS ? {} : { interruptAfterTimeLimit: budgetMs }),
    markInterruptAsFailure: false,
  }
}

/** Fewer cases than this in a run means the run proved little: the suite says so. */
export const MIN_CASES = 100

export function fuzzSeed(): number | undefined {
  const seed = Number(process.env.NEXUS_FUZZ_SEED)
  return Number.isInteger(seed) ? seed : undefined
}

/** A long run gets a longer tap timeout than the suite's two minutes. */
export function fuzzTimeoutMs(runs: number, msPerCase: number): number {
  return Math.max(120_000, runs * msPerCase * 4)
}

/**
 * How deep the generators nest JSON: far past the 32 levels the server accepts (references/api.md,
 * Budgets), yet shallow enough for the test's own JSON.stringify.
 */
export const MAX_JSON_DEPTH = 1000

/** Every (status, code) pair the HTTP API may answer an error with. */
export const httpErrors: ReadonlySet<string> = new Set(Object.values(catalogue).map((entry) => `${entry.status} ${entry.code}`))

/** Every code an `error` frame of the hub may carry. */
export const hubErrorCodes: ReadonlySet<string> = new Set([...Object.values(catalogue).map((entry) => entry.code), ...Object.keys(hubErrors)])

/** The 503s that are not bugs: the server is full, or its store is away. Each says when to retry. */
export const retryable503: ReadonlySet<string> = new Set(['capacity_exceeded', 'store_unavailable'])

/** Settles with `pending`, or rejects once `ms` pass: a request that takes longer is a hang. */
export async function within<T>(ms: number, what: string, pending: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (a hang): ${what}`)), ms)
  })
  try {
    return await Promise.race([pending, timeout])
  } finally {
    clearTimeout(timer)
  }
}
