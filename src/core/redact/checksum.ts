// Checksums that some token formats carry. Verifying them turns a shape match ("ghp_" and 36
// alphanumerics) into near-certainty, so look-alikes in docs and tests are left alone.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (IEEE 802.3, the zlib one) of an ASCII string. Written here because zlib.crc32 only
 *  exists from Node 20.15 on and the engines field promises any Node 20. */
export function crc32(ascii: string): number {
  let crc = 0xffffffff
  for (let i = 0; i < ascii.length; i++) {
    crc = (CRC_TABLE[(crc ^ ascii.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8)
  }
  return (crc ^ 0xffffffff) >>> 0
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Base62, most significant digit first, left-padded with '0' to `width`. */
export function base62(value: number, width: number): string {
  let out = ''
  let n = value
  do {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  } while (n > 0)
  return out.padStart(width, '0')
}

/**
 * GitHub (2021 format) and npm tokens: `<prefix>_` + 30 random base62 + 6 base62 digits of the
 * CRC-32 of those 30 characters. `body` is everything after the prefix and its underscore.
 */
export function hasBase62Crc32(body: string): boolean {
  if (body.length < 7) return false
  const random = body.slice(0, -6)
  return base62(crc32(random), 6) === body.slice(-6)
}
