// Inputs built to make a backtracking regex engine take quadratic or exponential time: long
// runs of token characters, near-misses repeated, openings without closings. Each is ~1 MB.

import { randomBytes } from 'node:crypto'
import { ALNUM, HEX, rand } from './fakes.js'

const MB = 1 << 20

function repeatTo(unit: string, size = MB): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
}

export function makeHostileInputs(): Array<{ name: string; text: string }> {
  const alnumRun = rand(4096, ALNUM)
  return [
    { name: 'ghp_ + 1 MB of alphanumerics', text: 'gh' + 'p_' + repeatTo(alnumRun) },
    { name: 'ghp_ repeated', text: repeatTo('gh' + 'p_') },
    { name: 'sk- repeated', text: repeatTo('sk-') },
    { name: 'sk-proj- + 1 MB of dashes', text: 'sk-proj-' + repeatTo('-') },
    { name: 'xoxb-1234567890- repeated', text: repeatTo('xo' + 'xb-1234567890-') },
    { name: 'BEGIN PRIVATE KEY without END', text: '-----BEGIN PRIVATE KEY-----\n' + repeatTo(alnumRun + '\n') },
    { name: 'BEGIN PRIVATE KEY repeated', text: repeatTo('-----BEGIN RSA PRIVATE KEY-----\n') },
    { name: 'BEGIN and END labels interleaved', text: repeatTo('-----BEGIN EC PRIVATE KEY----- -----END ') },
    { name: 'password= with nothing', text: repeatTo('password=\n') },
    { name: 'password= glued', text: repeatTo('password=') },
    { name: 'password: password: ...', text: repeatTo('password: ') },
    { name: '"password": " unterminated', text: repeatTo('"password": "') },
    { name: 'nested quotes', text: repeatTo(`"'\`\\"`) },
    { name: 'token= + 1 MB value', text: 'token=' + repeatTo('a') },
    { name: 'passpass… one 1 MB key', text: repeatTo('pass') },
    { name: 'a:b@ repeated', text: repeatTo('a:b@') },
    { name: 'https://a:b@ repeated', text: repeatTo('https://a:b@') },
    { name: 'postgres://u: + 1 MB password', text: 'postgres://u:' + repeatTo('p') },
    { name: 'scheme:// repeated', text: repeatTo('postgres://') },
    { name: 'eyJ + 1 MB', text: 'eyJ' + repeatTo('a') },
    { name: 'eyJ. repeated', text: repeatTo('eyJhbGciOi.') },
    { name: 'eyJ-eyJ- repeated', text: repeatTo('eyJ-') },
    { name: 'Authorization: Bearer repeated', text: repeatTo('Authorization: Bearer ') },
    { name: 'Bearer + 1 MB', text: 'Bearer ' + repeatTo('a1') },
    { name: 'Basic + 1 MB base64', text: 'Basic ' + randomBytes(MB).toString('base64') },
    { name: '= and : only', text: repeatTo('=:') },
    { name: 'key=key=… glued', text: repeatTo('api_key=') },
    { name: 'telegram-ish repeated', text: repeatTo('1234567890:AA') },
    { name: 'Q~ repeated', text: repeatTo('abc1Q~') },
    { name: 'hex soup', text: repeatTo(rand(4096, HEX)) },
    { name: 'base64 soup', text: randomBytes(MB).toString('base64') },
    { name: 'data URI', text: 'data:image/png;base64,' + randomBytes(MB).toString('base64') },
    { name: 'data URI openings repeated', text: repeatTo('data:image/png;base64,') },
    { name: 'AKIA repeated', text: repeatTo('AK' + 'IA') },
    { name: 'Discord-ish dots', text: repeatTo('MTIzNDU2Nzg5MDEyMzQ1Njc4.') },
    { name: 'anchor soup', text: repeatTo('gh' + 'p_ sk- xoxb- AIza eyJ :// -----BEGIN password= token: Authorization: Bearer Basic -u AC SK ') },
    { name: 'earlier markers next to secrets', text: repeatTo('[REDACTED:password] password=abc12345x https://[REDACTED:x]@h ') },
    { name: 'pat + dots repeated (the Airtable prefix is a common word)', text: repeatTo('pat' + 'AbCdEfGh123456.') },
    { name: 'sl. + 1 MB of base64url', text: 's' + 'l.' + repeatTo(alnumRun) },
    { name: 'new prefixes glued', text: repeatTo('da' + 'pi' + 'fc-' + 're_' + 'sk_' + 'ico-' + 'v1.0-' + 'sha256~' + 'glc_' + 'ops_eyJ') },
    { name: 'Teams webhook openings repeated', text: repeatTo('x.webhook.office.com/webhookb2/' + 'a'.repeat(40) + '/IncomingWebhook/') },
    { name: '<your key here> unterminated', text: 'api_key=' + repeatTo('<your key ') },
    { name: 'long line of words', text: repeatTo('the quick brown fox jumps over the lazy dog ') },
  ]
}
