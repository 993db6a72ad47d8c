/**
 * The wait before retry number `attempt` (1 for the first): exponential from `baseMs`, capped at
 * `maxMs`, with jitter (between half and all of it) so receivers coming back are not hit by
 * every sender at once.
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30))
  return Math.round(full / 2 + (full / 2) * random())
}
