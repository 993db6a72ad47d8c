import { hash, randomBytes, timingSafeEqual } from 'node:crypto'
import { nanoid } from 'nanoid'
import { PAIRING_WORDS } from './words.js'

/** 192 bits from the CSPRNG, as 48 lowercase hex characters. */
export function newSessionId(): string {
  return randomBytes(24).toString('hex')
}

export function isSessionId(value: string): boolean {
  return /^[0-9a-f]{48}$/.test(value)
}

/** 256 bits from the CSPRNG, as 64 lowercase hex characters. Handed out once, never stored. */
export function newSessionKey(): string {
  return randomBytes(32).toString('hex')
}

/** A hub agent's key: 256 bits from the CSPRNG, as 64 lowercase hex characters. Handed out once, never stored. */
export function newAgentKey(): string {
  return randomBytes(32).toString('hex')
}

/**
 * Stores keep only this digest of a session key: a dump of the store gives nobody a key, and a
 * store (even a Lua script) may compare digests with plain equality, since learning a prefix of
 * a digest tells nothing about the key.
 */
export function hashSessionKey(key: string): string {
  // The one-shot form: no Hash object per call, about half the time on the send path.
  return hash('sha256', key, 'hex')
}

/** Constant-time comparison of two key digests (hex strings of equal length). */
export function sameKeyHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}

export function newMessageId(): string {
  return `msg_${nanoid()}`
}

/** 32 symbols with no 0/O or 1/I to confuse: each carries 5 bits. */
export const CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ'
const CODE_SUFFIX_LENGTH = 5

/** Bits in a pairing code: two words of 10 bits (1024 words) and five symbols of 5. */
export const PAIRING_CODE_BITS = 2 * Math.log2(PAIRING_WORDS.length) + CODE_SUFFIX_LENGTH * Math.log2(CODE_ALPHABET.length)

/**
 * `WORD-WORD-XXXXX`: 10 + 10 + 5 × 5 = 45 bits, drawn fresh from the CSPRNG, so a code says
 * nothing about the session it opens. A word takes 10 bits of a 16-bit draw (1024 divides
 * 65536, so no word is likelier than another).
 */
export function newPairingCode(): string {
  const bytes = randomBytes(4 + CODE_SUFFIX_LENGTH)
  const words = PAIRING_WORDS.length - 1
  const first = PAIRING_WORDS[bytes.readUInt16BE(0) & words]
  const second = PAIRING_WORDS[bytes.readUInt16BE(2) & words]
  let suffix = ''
  for (let i = 4; i < bytes.length; i++) suffix += CODE_ALPHABET[bytes[i]! & 31]
  return `${first}-${second}-${suffix}`
}

const CODE_SHAPE = /^[A-Z]{2,10}-[A-Z]{2,10}-[2-9A-HJ-NP-Z]{5}$/

/** Codes are matched case-insensitively: the canonical form is upper case. Null when it cannot be a code. */
export function normalizePairingCode(raw: string): string | null {
  const code = raw.trim().toUpperCase()
  return CODE_SHAPE.test(code) ? code : null
}
