/** How long to wait between attempts: doubling from `initialDelayMs`, never above `maxDelayMs`. */
export interface BackoffPolicy {
  initialDelayMs: number
  maxDelayMs: number
}

export const defaultBackoff: BackoffPolicy = { initialDelayMs: 250, maxDelayMs: 15_000 }

/**
 * The delay before attempt `attempt + 1`: exponential and capped, with "equal jitter" (half
 * fixed, half random) so that many clients dropped at once by a restart do not return at once.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
