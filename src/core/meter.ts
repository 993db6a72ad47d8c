/**
 * What the core reports as it works, for whoever counts it (the metrics module turns these into
 * Prometheus series). The core only calls; it knows nothing of how or whether anything is kept.
 * Calls are synchronous and must be cheap: they sit on the send path.
 */
export interface CoreMeter {
  /** A message (a greeting included) was stored, with the types of the secrets replaced in it. */
  messageStored(redactions: readonly string[]): void
}

/** The meter of an app that counts nothing. */
export const silentMeter: CoreMeter = { messageStored() {} }
