/** Epoch milliseconds. Injected everywhere time matters, so tests drive expiry without sleeping. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()
