// Ordinary text that resembles secrets: identifiers of this very service, hashes, encodings,
// placeholders from documentation, code that mentions passwords. None may be touched.

import { randomBytes, randomUUID } from 'node:crypto'
import { ALNUM, B64URL, DIGITS, HEX, UPPER, checksummedBody, rand } from './fakes.js'

const NANOID = B64URL
const PAIRING = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

/** A base64 image with long zero runs ("AAAA…", "EAAA…") like real PNGs have. */
function dataUri(): string {
  const bytes = Buffer.concat([randomBytes(300), Buffer.alloc(200), randomBytes(300), Buffer.from([16, 0, 0, 0]), randomBytes(100)])
  return `data:image/png;base64,${bytes.toString('base64')}`
}

export function makeLookAlikes(): string[] {
  const sessionId = rand(48, HEX)
  const sessionKey = rand(64, HEX)
  const messageId = 'msg_' + rand(21, NANOID)
  const sha1 = rand(40, HEX)
  const sha256 = rand(64, HEX)
  // A GitHub-shaped token whose checksum is wrong: a doc example, not an issued token.
  const goodBody = checksummedBody()
  const badBody = goodBody.slice(0, -1) + (goodBody.endsWith('a') ? 'b' : 'a')
  return [
    // This service's own identifiers.
    `session ${sessionId} is ready`,
    `{"sessionId": "${sessionId}", "sessionKey": "${sessionKey}", "cursor": "42"}`,
    `X-Session-Key: ${sessionKey}`,
    `export NEXUS_SESSION_KEY=${sessionKey}`,
    `message ${messageId} at cursor 1234567`,
    `{"id": "${messageId}", "cursor": "0", "agentId": "system", "verified": true}`,
    'pair with AMBER-OTTER-7KQ2M or ' + `CEDAR-FALCON-${rand(5, PAIRING)}`,
    `https://nexus.example.com/p/MAPLE-HERON-${rand(5, PAIRING)}`,
    `nextCursor: "${rand(6, DIGITS)}", after=${rand(4, DIGITS)}`,
    // Hashes, ids, encodings.
    `commit ${sha1} fixed it`,
    `git checkout ${sha1.slice(0, 12)}`,
    `sha256:${sha256}`,
    `image: node@sha256:${sha256}`,
    `integrity: sha512-${Buffer.from(randomBytes(64)).toString('base64')}`,
    `request ${randomUUID()} failed`,
    `{"id": "${randomUUID()}", "trace": "${randomUUID()}"}`,
    dataUri(),
    `<img src="${dataUri()}">`,
    `colors: #ff8800, #FFF, #1e1e1e and rgb(0, 0, 0)`,
    'version 1.4.2, v20.19.43, 5.1.16-beta.3+build.7, node>=20',
    'ssh-rsa ' + Buffer.concat([Buffer.from('\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x03\x01\x00\x01'), randomBytes(256)]).toString('base64') + ' dev@laptop',
    '-----BEGIN PUBLIC KEY-----\n' + randomBytes(120).toString('base64') + '\n-----END PUBLIC KEY-----',
    '-----BEGIN CERTIFICATE-----\n' + randomBytes(200).toString('base64') + '\n-----END CERTIFICATE-----',
    `the file is ${rand(40, ALNUM)}.tar.gz`,
    `snake_case_identifiers_like_max_retry_count and camelCaseNamesLikeRetryPolicyFactory`,
    'C:\\Users\\dev\\AppData\\Local\\npm-cache\\_cacache\\index-v5',
    '/home/dev/.cache/ms-playwright/chromium-1091/chrome-linux/chrome',
    'IPv6 fe80::1ff:fe23:4567:890a and 10:30:00 and std::string and a:b@c',
    'mailto:someone@example.com, user@example.com',
    `${rand(16, UPPER)} is an acronym soup`,
    // Prose about credentials.
    'I forgot my password yesterday',
    'the password field is required',
    'Passwords must be at least 12 characters.',
    'Reset your password from the settings page; the secret is patience.',
    'The secret: nobody reads the docs',
    'The token bucket refills every second, and max_tokens: 4096 applies.',
    'Bearer tokens are sent in the Authorization header.',
    'the bearer of bad news',
    'We need a basic understanding of basic auth first.',
    'Authorization header is missing',
    'Authorization: required for every call',
    'Use the API key from the dashboard; the key issue is rotation.',
    'ghp_ tokens are classic PATs and sk-ant- keys are Anthropic keys',
    'Use the AKIA prefix to recognise AWS access key ids.',
    'The format is xoxb-<team>-<bot>-<secret>.',
    'eyJ is what base64 of {" looks like',
    // Placeholders.
    'export OPENAI_API_KEY=sk-...',
    'OPENAI_API_KEY=YOUR_API_KEY',
    'api_key: YOUR_API_KEY',
    'api_key="your-api-key-here"',
    'token=<token>',
    'Authorization: Bearer <token>',
    'Authorization: Bearer $TOKEN',
    'Authorization: Bearer ${API_KEY}',
    'Authorization: Bearer YOUR_TOKEN',
    'curl -H "Authorization: Bearer $NEXUS_TOKEN" https://example.com',
    'password=',
    'password=\nuser=bob',
    'PASSWORD=""',
    'password: ""',
    'password=${DB_PASSWORD}',
    'password: {{ .Values.db.password }}',
    'password: ${{ secrets.DB_PASSWORD }}',
    'password=%DB_PASS%',
    'password: ********',
    'password=xxxx',
    'secret: changeme',
    'password = "password"',
    'password: "<your-password>"',
    'client_secret: REPLACE_ME',
    'GITHUB_TOKEN=gh' + 'p_' + 'x'.repeat(36),
    'gh' + 'p_' + 'x'.repeat(36),
    'gh' + 'p_' + badBody,
    'np' + 'm_' + badBody,
    'sk' + '_live_' + 'x'.repeat(24),
    'sk' + '_test_' + '1234567890abcdefghijklmn',
    'AK' + 'IAIOSFODNN7EXAMPLE',
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY',
    'postgres://user:password@localhost:5432/app',
    'postgres://localhost:5432/app',
    'postgres://app@db.internal/app',
    'redis://:${REDIS_PASSWORD}@cache:6379',
    'mysql://root:<password>@localhost/db',
    'https://example.com:8080/path?q=1#frag',
    'git@github.com:org/repo.git',
    'docker run -u 1000:1000 node:20',
    'curl -u $USER:$PASS https://api.example.com',
    // Code that talks about secrets.
    'password: string;',
    'interface Login { username: string; password: string; token?: string }',
    'const password = await readPassword()',
    'const token = req.headers.authorization',
    'apiKey: process.env.OPENAI_API_KEY,',
    'api_key = os.environ["OPENAI_API_KEY"]',
    'password = getpass.getpass()',
    'password: str',
    'token = accessToken',
    'if password == "": return',
    'if (password !== confirmPassword) throw new Error("mismatch")',
    'password_hash = bcrypt(password)',
    'password_min_length: 12',
    'tokenizer: cl100k_base, eos_token: "</s>", pad_token: "<pad>"',
    '{"nextPageToken": "CAESBgoEbGlzdA", "page_token": "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA0dnJ"}',
    'show_password: true',
    'auth: required',
    'primary key (id), key: value, keyboard shortcuts',
    'PWD=/home/dev/project',
    'password: !Ref DbPassword',
    'password: *default_password',
    `def login(password: Optional[str] = None): ...`,
    '--password-file /run/secrets/db',
    '--token-limit 4096',
  ]
}
