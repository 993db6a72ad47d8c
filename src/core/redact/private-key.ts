// PEM / OpenSSH / PGP private key blocks. Found by their BEGIN line, then the END line is looked
// up with indexOf rather than a regex, so "-----BEGIN PRIVATE KEY-----" with no end costs one
// scan, not one per BEGIN. With no END line the rest of the text is redacted: a truncated key is
// still a key.

import { PRIORITY, type Detector, type Emit } from './types.js'

const BEGIN = /-----BEGIN ((?:[A-Z0-9]{1,20} ){0,4})PRIVATE KEY( BLOCK)?-----/g
/** The same, as the value of "private_key" in a Google service-account JSON file (maybe escaped). */
const GCP = /\\?"private_key\\?"[ \t]{0,4}:[ \t]{0,4}\\?"(?=-----BEGIN (?:RSA )?PRIVATE KEY-----)/g

const TYPE_BY_LABEL: Record<string, string> = {
  'RSA ': 'rsa_private_key',
  'EC ': 'ec_private_key',
  'DSA ': 'dsa_private_key',
  'OPENSSH ': 'openssh_private_key',
  'PGP ': 'pgp_private_key',
  '': 'pkcs8_private_key',
  'ENCRYPTED ': 'pkcs8_private_key',
}

/** End of the block that begins at `from`: just past the END line's closing dashes, or the text's end. */
export function blockEnd(text: string, from: number): number {
  const end = text.indexOf('-----END ', from)
  if (end < 0) return text.length
  const close = text.indexOf('-----', end + 9)
  // The END label is short; a missing closing run means a mangled block: take to the end.
  if (close < 0 || close - end > 100) return text.length
  return close + 5
}

function findBlocks(text: string, emit: Emit): void {
  BEGIN.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = BEGIN.exec(text)) !== null) {
    const label = m[1] ?? ''
    const type = TYPE_BY_LABEL[label] ?? 'private_key'
    const end = blockEnd(text, m.index + m[0].length)
    emit(m.index, end, type)
    BEGIN.lastIndex = end
  }
}

function findServiceAccountKeys(text: string, emit: Emit): void {
  GCP.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = GCP.exec(text)) !== null) {
    const start = m.index + m[0].length
    const end = blockEnd(text, start)
    emit(start, end)
    GCP.lastIndex = end
  }
}

export const privateKeyDetector: Detector = {
  types: ['rsa_private_key', 'ec_private_key', 'dsa_private_key', 'openssh_private_key',
    'pgp_private_key', 'pkcs8_private_key', 'private_key'],
  anchors: ['PRIVATE KEY'],
  priority: PRIORITY.structured,
  find: findBlocks,
}

export const gcpServiceAccountDetector: Detector = {
  types: ['gcp_service_account_key'],
  anchors: ['"private_key'],
  priority: PRIORITY.pinned,
  find: findServiceAccountKeys,
}
