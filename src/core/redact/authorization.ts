// HTTP credentials outside URLs: `Authorization:` headers (any scheme), bare `Bearer <token>`,
// `Basic <base64>`, and curl's `-u user:password`.

import { Buffer } from 'node:buffer'
import { isPlaceholderValue } from './placeholder.js'
import { PRIORITY, type Detector, type Emit } from './types.js'

/** "Authorization: <scheme> <credential>" in a header dump, curl -H, JSON or code. */
const HEADER = /(?<![A-Za-z0-9_-])(?:proxy-)?authorization\\?["']?[ \t]{0,4}[:=][ \t]{0,4}\\?["']?/gi
/** A bare "Bearer <token>": taken only when the token looks generated (see bearerLooksReal). */
const BEARER = /(?<![A-Za-z0-9_-])bearer[ \t]{1,4}([A-Za-z0-9._~+/-]{16,4096}=*)(?![A-Za-z0-9_~+/=-])/dgi
/** "Basic <base64>": confirmed by decoding to "user:password". */
const BASIC = /(?<![A-Za-z0-9_-])basic[ \t]{1,4}([A-Za-z0-9+/]{6,1024}={0,2})(?![A-Za-z0-9+/=])/dgi
/** curl/wget/httpie `-u user:password` (and --user). */
const CURL_USER = /(?<![A-Za-z0-9_-])(?:-u|--user)[ \t]{1,4}(["']?)([^\s:"']{1,128}):([^\s"']{1,256})\1(?![^\s])/dg

const CREDENTIAL_CHAR = /[^\s"',;`]/

function decodesToUserPassword(b64: string): boolean {
  // Cheap rejections first: "Basic approach" matches the shape; real base64 of "user:pass" is
  // padded to a multiple of 4 and mixes lower case with upper case or digits.
  if (b64.length % 4 !== 0 || !/[a-z]/.test(b64) || !/[A-Z0-9]/.test(b64)) return false
  const decoded = Buffer.from(b64, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  // Printable, with a colon that is not the first character: "user:password".
  return colon > 0 && !/[\u0000-\u001f\u007f\ufffd]/.test(decoded)
}

/** Outside a header, "bearer" is an English word; a token has digits and letters and no spaces. */
function bearerLooksReal(token: string): boolean {
  return /[0-9]/.test(token) && /[A-Za-z]/.test(token) && !isPlaceholderValue(token)
}

function trimSentenceEnd(text: string, start: number, end: number): number {
  let e = end
  while (e > start && text[e - 1] === '.') e--
  return e
}

function findHeaders(text: string, emit: Emit): void {
  const re = HEADER
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    // Read up to two words: "<scheme> <credential>" or a bare "<credential>".
    let i = m.index + m[0].length
    const firstStart = i
    while (i < text.length && i - firstStart < 4096 && CREDENTIAL_CHAR.test(text[i] as string) && text[i] !== '\\') i++
    const first = text.slice(firstStart, i)
    let credStart = firstStart
    let credEnd = i
    let scheme = ''
    if (/^[A-Za-z][A-Za-z0-9-]{1,20}$/.test(first) && (text[i] === ' ' || text[i] === '\t')) {
      let j = i
      while (j < text.length && j - i < 4 && (text[j] === ' ' || text[j] === '\t')) j++
      const secondStart = j
      while (j < text.length && j - secondStart < 4096 && CREDENTIAL_CHAR.test(text[j] as string) && text[j] !== '\\') j++
      if (j > secondStart) {
        scheme = first.toLowerCase()
        credStart = secondStart
        credEnd = j
      }
    }
    credEnd = trimSentenceEnd(text, credStart, credEnd)
    while (credEnd > credStart && text[credEnd - 1] === ':') credEnd--
    re.lastIndex = Math.max(re.lastIndex, credEnd)
    const credential = text.slice(credStart, credEnd)
    if (credential.length < 8 || isPlaceholderValue(credential)) continue
    // "Authorization: required for every call" is prose: a credential of letters only must be
    // long enough to be generated rather than a word.
    if (/^[A-Za-z]+$/.test(credential) && credential.length < 20) continue
    const type = scheme === 'bearer' ? 'bearer_token' : scheme === 'basic' ? 'basic_auth' : 'authorization_header'
    emit(credStart, credEnd, type)
  }
}

function findBearer(text: string, emit: Emit): void {
  const re = BEARER
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const span = m.indices?.[1]
    if (span === undefined) continue
    const end = trimSentenceEnd(text, span[0], span[1])
    if (bearerLooksReal(text.slice(span[0], end))) emit(span[0], end)
  }
}

function findBasic(text: string, emit: Emit): void {
  const re = BASIC
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const span = m.indices?.[1]
    if (span !== undefined && decodesToUserPassword(m[1] as string)) emit(span[0], span[1])
  }
}

function findCurlUser(text: string, emit: Emit): void {
  const re = CURL_USER
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const span = m.indices?.[3]
    const user = m[2] as string
    const password = m[3] as string
    if (span === undefined || isPlaceholderValue(password)) continue
    if (/^\d+$/.test(user) && /^\d+$/.test(password)) continue // docker's -u uid:gid
    emit(span[0], span[1])
  }
}

export const authorizationHeaderDetector: Detector = {
  types: ['authorization_header', 'bearer_token', 'basic_auth'],
  anchors: ['authorization'],
  anchorsIgnoreCase: true,
  priority: PRIORITY.generic,
  find: findHeaders,
}

export const bearerDetector: Detector = {
  types: ['bearer_token'],
  anchors: ['bearer'],
  anchorsIgnoreCase: true,
  priority: PRIORITY.generic,
  find: findBearer,
}

export const basicAuthDetector: Detector = {
  types: ['basic_auth'],
  anchors: ['basic', '-u', '--user'],
  anchorsIgnoreCase: true,
  priority: PRIORITY.generic,
  find(text, emit) {
    findBasic(text, emit)
    findCurlUser(text, emit)
  },
}
