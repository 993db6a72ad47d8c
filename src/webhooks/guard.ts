import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'

/**
 * The SSRF guard: a webhook may only reach public addresses. A URL is checked when it is set
 * (scheme, credentials, a literal address) and again at every delivery, where the host is
 * resolved and the very address resolved is the one connected to (see `guardedLookup`), so a
 * name that answers a public address when set and a private one later (DNS rebinding) is
 * refused at the connect.
 */

export type RefusedKind = 'loopback' | 'private' | 'link-local' | 'multicast' | 'metadata' | 'reserved'

/** Ranges refused unless the operator allows them, each under the kind a refusal names. */
const REFUSED: [RefusedKind, 'ipv4' | 'ipv6', string, number][] = [
  // Cloud metadata services first: they sit inside the link-local and private ranges below.
  ['metadata', 'ipv4', '169.254.169.254', 32],
  ['metadata', 'ipv4', '100.100.100.200', 32],
  ['metadata', 'ipv6', 'fd00:ec2::254', 128],
  ['loopback', 'ipv4', '127.0.0.0', 8],
  ['loopback', 'ipv6', '::1', 128],
  ['private', 'ipv4', '10.0.0.0', 8],
  ['private', 'ipv4', '172.16.0.0', 12],
  ['private', 'ipv4', '192.168.0.0', 16],
  ['private', 'ipv4', '100.64.0.0', 10],
  ['private', 'ipv6', 'fc00::', 7],
  ['link-local', 'ipv4', '169.254.0.0', 16],
  ['link-local', 'ipv6', 'fe80::', 10],
  ['multicast', 'ipv4', '224.0.0.0', 4],
  ['multicast', 'ipv6', 'ff00::', 8],
  ['reserved', 'ipv4', '0.0.0.0', 8],
  ['reserved', 'ipv4', '192.0.0.0', 24],
  ['reserved', 'ipv4', '192.0.2.0', 24],
  ['reserved', 'ipv4', '198.18.0.0', 15],
  ['reserved', 'ipv4', '198.51.100.0', 24],
  ['reserved', 'ipv4', '203.0.113.0', 24],
  ['reserved', 'ipv4', '240.0.0.0', 4],
  ['reserved', 'ipv6', '::', 128],
  ['reserved', 'ipv6', '100::', 64],
  ['reserved', 'ipv6', '2001:db8::', 32],
  ['reserved', 'ipv6', 'fec0::', 10],
  // Translation prefixes carry an IPv4 address inside: refused whole rather than decoded.
  ['reserved', 'ipv6', '64:ff9b::', 96],
  ['reserved', 'ipv6', '2002::', 16],
]

const refusedLists = new Map<RefusedKind, BlockList>()
for (const [kind, family, network, prefix] of REFUSED) {
  let list = refusedLists.get(kind)
  if (!list) {
    list = new BlockList()
    refusedLists.set(kind, list)
  }
  list.addSubnet(network, prefix, family)
}

/** Which addresses webhooks may reach. */
export class AddressPolicy {
  readonly #allowAll: boolean
  readonly #allowed = new BlockList()

  /** `allow`: WEBHOOK_ALLOW_PRIVATE as the config parsed it. */
  constructor(allow: boolean | string[]) {
    this.#allowAll = allow === true
    if (Array.isArray(allow)) {
      for (const range of allow) {
        const [network, bits] = range.split('/') as [string, string]
        this.#allowed.addSubnet(network, Number(bits), isIP(network) === 6 ? 'ipv6' : 'ipv4')
      }
    }
  }

  /** Why `address` (an IP) may not be reached, or null when it may. */
  refusal(address: string): RefusedKind | null {
    const [ip, family] = normalize(address)
    if (family === null) return 'reserved'
    if (this.#allowAll || this.#allowed.check(ip, family)) return null
    for (const [kind, list] of refusedLists) if (list.check(ip, family)) return kind
    return null
  }
}

/** An IPv4 address written as IPv6 (`::ffff:127.0.0.1`, or in hex) is judged as the IPv4 it is. */
function normalize(address: string): [string, 'ipv4' | 'ipv6' | null] {
  const bare = address.replace(/^\[(.*)\]$/, '$1')
  const family = isIP(bare)
  if (family === 4) return [bare, 'ipv4']
  if (family !== 6) return [bare, null]
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(bare) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(bare)
  if (mapped) {
    const rest = mapped[1]!
    if (isIP(rest) === 4) return [rest, 'ipv4']
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(rest)
    if (hex) {
      const high = parseInt(hex[1]!, 16)
      const low = parseInt(hex[2]!, 16)
      return [`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, 'ipv4']
    }
  }
  return [bare, 'ipv6']
}

export interface UrlProblem {
  path: string
  message: string
}

/**
 * Checks a webhook URL as given: an absolute http(s) URL, no credentials, at most 2048
 * characters, and a literal address only if the policy allows it. Names are resolved at delivery.
 */
export function urlProblem(raw: string, policy: AddressPolicy): UrlProblem | null {
  if (raw.length > 2048) return { path: 'url', message: 'must be at most 2048 characters' }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { path: 'url', message: 'must be an absolute URL' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { path: 'url', message: 'must be an http or https URL' }
  if (url.username !== '' || url.password !== '') return { path: 'url', message: 'must not carry credentials' }
  if (url.hostname === '') return { path: 'url', message: 'must name a host' }
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (isIP(literal) !== 0) {
    const refused = policy.refusal(literal)
    if (refused) return { path: 'url', message: `names a ${refused} address, which webhooks may not reach` }
  } else if (/^localhost\.?$/i.test(literal) || /\.localhost\.?$/i.test(literal)) {
    if (policy.refusal('127.0.0.1')) return { path: 'url', message: 'names a loopback address, which webhooks may not reach' }
  }
  return null
}

/** What a lookup passed to net.connect looks like. */
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
type Lookup = (hostname: string, options: { all?: boolean; family?: number | 'IPv4' | 'IPv6' }, callback: LookupCallback) => void

/** The error a connect refused by the guard fails with; its message names the kind, never more. */
export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError'
  readonly code = 'EWEBHOOKREFUSED'
}

/**
 * A `lookup` for net/tls.connect: resolves the name, refuses if any address it answers is
 * refused (a name with one private address among public ones is as dangerous), and hands
 * the connect exactly the addresses checked.
 */
export function guardedLookup(policy: AddressPolicy, resolve: typeof dnsLookup = dnsLookup): Lookup {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0)
    resolve(hostname, { all: true, family }, (err, addresses) => {
      if (err) return callback(err, [])
      const list = addresses as LookupAddress[]
      for (const entry of list) {
        const refused = policy.refusal(entry.address)
        if (refused) return callback(new RefusedAddressError(`the host resolves to a ${refused} address`), [])
      }
      if (list.length === 0) return callback(Object.assign(new Error('the host has no address'), { code: 'ENOTFOUND' }), [])
      if (options.all) return callback(null, list)
      callback(null, list[0]!.address, list[0]!.family)
    })
  }
}
