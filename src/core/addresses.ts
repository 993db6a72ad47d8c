import { isIPv4, isIPv6 } from 'node:net'

/**
 * The group a client address is counted in for per-address budgets: an IPv4 address on its own,
 * an IPv6 address by its /64. One IPv6 subscriber is routinely handed a whole /64 (2^64
 * addresses), so a budget per IPv6 address would be no budget at all. IPv4 written as IPv6
 * (`::ffff:192.0.2.1`) counts as the IPv4 address it is.
 */
export function addressGroup(address: string): string {
  const bare = address.replace(/%.*$/, '')
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  if (!isIPv6(bare)) return bare
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`
}

/** The eight groups of an IPv6 address, each as 1-4 lowercase hex digits without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase()
  // A trailing dotted quad (::1.2.3.4) is two groups.
  const quad = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number]
    text = text.slice(0, quad.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right].map((group) => parseInt(group, 16).toString(16))
}
