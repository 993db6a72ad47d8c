// The shape every detector has, so the redactor can run built-in and operator patterns alike.

/** Report a secret at [start, end) of the scanned text; `type` when the detector reports several. */
export type Emit = (start: number, end: number, type?: string) => void

export interface Detector {
  /** Stable snake_case labels this detector may report; the first is the default. */
  readonly types: readonly string[]
  /**
   * Literal strings of which at least one must occur in the text
   * for the detector to be worth running. Empty: run on every text (custom patterns, shapes
   * with no fixed literal). This is the prefilter that keeps ordinary chat fast.
   */
  readonly anchors: readonly string[]
  /**
   * Compare the anchors case-insensitively. Only for detectors whose own pattern ignores case
   * (key names): a case-sensitive "AC" or "sk-" is far rarer in prose than "ac" or "sk".
   */
  readonly anchorsIgnoreCase?: boolean
  /** When two detections overlap, the higher priority names the merged span. */
  readonly priority: number
  /** Scan the whole text and emit every secret; must run in linear time. */
  find(text: string, emit: Emit): void
}

/**
 * Overlap rules: a token recognised by its own format (prefix, checksum) names the span better
 * than a key name around it ("token=ghp_..." is a github_pat, not a generic token).
 */
export const PRIORITY = {
  generic: 10,
  contextual: 20,
  custom: 20,
  structured: 30,
  pinned: 40,
} as const
