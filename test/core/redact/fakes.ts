// Fake credentials generated at run time, one or more per detector type, and the contexts they
// are embedded in. Nothing here is a real secret, and no literal in this file has a real
// token's full shape: prefixes are split ('gh' + 'p_') so secret scanners stay quiet.

import { randomInt } from 'node:crypto'
import zlib from 'node:zlib'

export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
export const LOWER = 'abcdefghijklmnopqrstuvwxyz'
export const DIGITS = '0123456789'
export const ALNUM = UPPER + LOWER + DIGITS
export const HEX = '0123456789abcdef'
export const B64 = ALNUM + '+/'
export const B64URL = ALNUM + '-_'

/** Runs of repeated or counting characters would (rightly) be taken for placeholders. */
function looksPatterned(s: string): boolean {
  for (let i = 5; i < s.length; i++) {
    let same = true
    let up = true
    for (let k = 1; k <= 5; k++) {
      const a = s.charCodeAt(i - k)
      const b = s.charCodeAt(i - k + 1)
      if (a !== b) same = false
      if (a + 1 !== b) up = false
    }
    if (same || up) return true
  }
  return /example/i.test(s)
}

export function rand(n: number, alphabet = ALNUM): string {
  for (;;) {
    let out = ''
    for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)]
    if (!looksPatterned(out)) return out
  }
}

/** A password-like value: letters and at least one digit, no punctuation that ends a value. */
export function password(n = 14): string {
  return rand(n - 2, ALNUM) + rand(1, DIGITS) + rand(1, LOWER)
}

export function uuid(): string {
  return `${rand(8, HEX)}-${rand(4, HEX)}-4${rand(3, HEX)}-a${rand(3, HEX)}-${rand(12, HEX)}`
}

// CRC-32 written independently of src/ (bitwise, no table) so the test checks the redactor's
// checksum code rather than reusing it; zlib's when the Node version has it.
function crc32(s: string): number {
  const z = (zlib as unknown as { crc32?: (d: string) => number }).crc32
  if (typeof z === 'function') return z(s) >>> 0
  let crc = ~0
  for (let i = 0; i < s.length; i++) {
    crc ^= s.charCodeAt(i)
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

function base62(n: number): string {
  const digits = DIGITS + UPPER + LOWER
  let out = ''
  do {
    out = digits[n % 62] + out
    n = Math.floor(n / 62)
  } while (n > 0)
  return out.padStart(6, '0')
}

/** 30 random base62 + their CRC-32 in 6 base62 digits: GitHub's and npm's token body. */
export function checksummedBody(): string {
  const random = rand(30)
  return random + base62(crc32(random))
}

/** The same shape with its last checksum digit changed: a mistyped or mangled real token. */
export function badChecksumBody(): string {
  const body = checksummedBody()
  return body.slice(0, -1) + (body.endsWith('a') ? 'b' : 'a')
}

export function b64url(s: string): string {
  return Buffer.from(s).toString('base64url')
}

function pemBody(lines = 6): string {
  const out: string[] = []
  for (let i = 0; i < lines; i++) out.push(rand(64, B64))
  return out.join('\n') + '\n' + rand(20, B64) + '=='
}

export function pem(label: string): string {
  return `-----BEGIN ${label}-----\n${pemBody()}\n-----END ${label}-----`
}

export interface Fake {
  type: string
  /** What appears in the text. */
  snippet: string
  /** The part of the snippet that must be replaced (all of it for bare tokens). */
  secret: string
  /** Contexts this fake is not meant for (a URL inside a URL query, a multi-line key in one). */
  skip?: readonly ContextName[]
}

const bare = (type: string, secret: string, skip?: readonly ContextName[]): Fake =>
  skip === undefined ? { type, snippet: secret, secret } : { type, snippet: secret, secret, skip }
const within = (type: string, snippet: string, secret: string, skip: readonly ContextName[] = ['url']): Fake =>
  ({ type, snippet, secret, skip })

export function makeFakes(): Fake[] {
  const gh = (p: string) => 'gh' + p + '_' + checksummedBody()
  const jwtHeader = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const jwtPayload = b64url(JSON.stringify({ sub: rand(12), iat: 1700000000 + randomInt(1e6), scope: 'read write' }))
  const pw = password()
  const serviceAccountPem = `-----BEGIN PRIVATE KEY-----\\n${rand(64, B64)}\\n${rand(64, B64)}\\n${rand(40, B64)}==\\n-----END PRIVATE KEY-----`
  const serviceAccount = JSON.stringify({
    type: 'service_' + 'account',
    project_id: 'demo-project',
    private_key_id: rand(40, HEX),
  }, null, 2).replace(/\n}$/, `,\n  "private_key": "${serviceAccountPem}\\n",\n  "client_email": "bot@demo-project.iam.gserviceaccount.com"\n}`)
  const hex32 = rand(32, HEX)
  const basicCreds = Buffer.from(`deploy:${password()}`).toString('base64')
  const dsnKey = rand(32, HEX)
  const sasSig = rand(43, ALNUM) + '%3D'
  const slackPath = `T${rand(10, UPPER + DIGITS)}/B${rand(10, UPPER + DIGITS)}/${rand(24)}`
  const discordId = '1' + rand(17, DIGITS)
  const discordHook = rand(68, B64URL).replace(/[-_]$/, 'x')
  const accountKey = rand(86, B64) + '=='
  const sharedKey = rand(43, B64) + '='
  const awsSecret = rand(40, B64)
  const twilioToken = rand(32, HEX)

  return [
    // Cloud
    bare('aws_access_key_id', 'AK' + 'IA' + rand(16, UPPER + '234567')),
    bare('aws_access_key_id', 'AS' + 'IA' + rand(16, UPPER + DIGITS)),
    within('aws_secret_access_key', `aws_secret_access_key = ${awsSecret}`, awsSecret),
    within('aws_secret_access_key', `AWS_SECRET_ACCESS_KEY=${awsSecret}`, awsSecret),
    within('aws_secret_access_key', `"SecretAccessKey": "${awsSecret}"`, awsSecret),
    (() => { const t = rand(320, B64); return within('aws_session_token', `aws_session_token = ${t}`, t) })(),
    // The whole JSON string value goes, its trailing "\n" included.
    within('gcp_service_account_key', serviceAccount, serviceAccountPem + '\\n'),
    bare('gcp_api_key', 'AI' + 'za' + rand(35, B64URL).replace(/[-_]$/, 'q')),
    bare('gcp_oauth_client_secret', 'GOC' + 'SPX-' + rand(28)),
    bare('google_oauth_access_token', 'ya' + '29.' + rand(150, B64URL).replace(/[-_]$/, 'q')),
    within('azure_storage_account_key',
      `DefaultEndpointsProtocol=https;AccountName=acct${rand(6, LOWER)};AccountKey=${accountKey};EndpointSuffix=core.windows.net`, accountKey),
    within('azure_storage_account_key', `AZURE_STORAGE_KEY=${accountKey}`, accountKey),
    within('azure_shared_access_key',
      `Endpoint=sb://ns${rand(6, LOWER)}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${sharedKey}`, sharedKey),
    within('azure_sas_token',
      `https://acct.blob.core.windows.net/c/report.csv?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig=${sasSig}`, sasSig),
    bare('azure_ad_client_secret', rand(3) + rand(1, DIGITS) + 'Q~' + rand(33, ALNUM + '_~.-') + rand(1)),

    // Code hosts
    bare('github_pat', gh('p')),
    bare('github_oauth_token', gh('o')),
    bare('github_app_token', gh('u')),
    bare('github_app_token', gh('s')),
    bare('github_refresh_token', gh('r')),
    // A checksum adds confidence, never removes it: a wrong one is still redacted.
    bare('github_pat', 'gh' + 'p_' + badChecksumBody()),
    bare('github_oauth_token', 'gh' + 'o_' + badChecksumBody()),
    bare('github_app_token', 'gh' + 's_' + badChecksumBody()),
    bare('github_app_token', 'gh' + 's_' + rand(120)),
    bare('github_fine_grained_pat', 'github' + '_pat_' + rand(22) + '_' + rand(59)),
    bare('gitlab_pat', 'gl' + 'pat-' + rand(20)),
    bare('gitlab_runner_token', 'gl' + 'rt-' + rand(20)),
    bare('gitlab_runner_token', 'GR13' + '48941' + rand(20)),
    bare('gitlab_pipeline_trigger_token', 'gl' + 'ptt-' + rand(40, HEX)),
    bare('gitlab_deploy_token', 'gl' + 'dt-' + rand(20)),
    bare('gitlab_token', 'gl' + 'ft-' + rand(20)),
    bare('bitbucket_app_password', 'AT' + 'BB' + rand(32)),
    bare('bitbucket_access_token', 'ATC' + 'TT3' + rand(186)),
    bare('atlassian_api_token', 'ATA' + 'TT3' + rand(186)),

    // Chat
    bare('slack_bot_token', 'xo' + 'xb-' + rand(12, DIGITS) + '-' + rand(13, DIGITS) + '-' + rand(24)),
    bare('slack_user_token', 'xo' + 'xp-' + rand(12, DIGITS) + '-' + rand(12, DIGITS) + '-' + rand(13, DIGITS) + '-' + rand(32, HEX)),
    bare('slack_app_token', 'xa' + 'pp-1-A' + rand(10, UPPER + DIGITS) + '-' + rand(13, DIGITS) + '-' + rand(64, HEX)),
    bare('slack_config_token', 'xo' + 'xe.xoxp-1-' + rand(140)),
    within('slack_webhook_url', `https://hooks.slack.com/services/${slackPath}`, slackPath),
    bare('discord_bot_token', b64url(discordId) + '.' + rand(6, B64URL) + '.' + rand(37, B64URL) + rand(1)),
    within('discord_webhook_url', `https://discord.com/api/webhooks/${rand(18, DIGITS)}/${discordHook}`, discordHook),
    bare('telegram_bot_token', rand(1, '123456789') + rand(9, DIGITS) + ':AA' + rand(32, B64URL) + rand(1)),

    // Payments
    bare('stripe_secret_key', 'sk' + '_live_' + rand(99)),
    bare('stripe_secret_key', 'sk' + '_test_' + rand(24)),
    bare('stripe_restricted_key', 'rk' + '_live_' + rand(99)),
    bare('stripe_webhook_secret', 'wh' + 'sec_' + rand(32)),
    bare('square_access_token', 'EA' + 'AA' + rand(60)),
    bare('square_access_token', 'sq0' + 'atp-' + rand(22)),
    bare('square_oauth_secret', 'sq0' + 'csp-' + rand(43)),
    bare('paypal_braintree_access_token', 'access_token$' + 'production$' + rand(16, LOWER + DIGITS) + '$' + rand(32, HEX), ['url']),

    // Model providers
    bare('openai_api_key', 'sk-' + 'proj-' + rand(156, B64URL) + rand(1)),
    bare('openai_api_key', 'sk-' + rand(20) + 'T3Blbk' + 'FJ' + rand(20)),
    bare('anthropic_api_key', 'sk-' + 'ant-api03-' + rand(93, B64URL) + 'AA'),
    bare('anthropic_api_key', 'sk-' + 'ant-admin01-' + rand(93, B64URL) + 'AA'),
    bare('anthropic_api_key', 'sk-' + 'ant-sid01-' + rand(93, B64URL) + 'AA'),
    bare('openai_api_key', 'sk-' + 'svcacct-' + rand(74, B64URL) + rand(1)),
    bare('openai_api_key', 'sk-' + 'admin-' + rand(74, B64URL) + rand(1)),
    bare('openai_api_key', 'sk-' + rand(32, HEX)),
    bare('langfuse_secret_key', 'sk-' + 'lf-' + uuid()),
    bare('elevenlabs_api_key', 's' + 'k_' + rand(48, HEX)),
    bare('cerebras_api_key', 'cs' + 'k-' + rand(48, LOWER + DIGITS)),
    bare('together_api_key', 'tgp' + '_v1_' + rand(43, B64URL).replace(/[-_]$/, 'q')),
    bare('pinecone_api_key', 'pc' + 'sk_' + rand(5) + '_' + rand(64)),
    bare('tavily_api_key', 'tv' + 'ly-' + rand(32)),
    bare('tavily_api_key', 'tv' + 'ly-dev-' + rand(32)),
    bare('firecrawl_api_key', 'f' + 'c-' + rand(32, HEX)),
    bare('huggingface_token', 'api' + '_org_' + rand(34, UPPER + LOWER)),
    bare('openrouter_api_key', 'sk-' + 'or-v1-' + rand(64, HEX)),
    bare('huggingface_token', 'h' + 'f_' + rand(34, UPPER + LOWER)),
    bare('groq_api_key', 'gs' + 'k_' + rand(52)),
    bare('replicate_api_token', 'r' + '8_' + rand(37)),
    bare('perplexity_api_key', 'pp' + 'lx-' + rand(48)),
    bare('xai_api_key', 'xa' + 'i-' + rand(80)),
    bare('langsmith_api_key', 'lsv2' + '_pt_' + rand(32, HEX) + '_' + rand(10, HEX)),
    (() => { const k = rand(40); return within('cohere_api_key', `COHERE_API_KEY=${k}`, k) })(),
    (() => { const k = rand(40); return within('cohere_api_key', `co = cohere.ClientV2(api_key="${k}")`, k) })(),
    (() => { const k = rand(32); return within('mistral_api_key', `MISTRAL_API_KEY=${k}`, k) })(),

    // Mail and messaging
    bare('sendgrid_api_key', 'S' + 'G.' + rand(22, B64URL) + '.' + rand(42, B64URL) + rand(1)),
    bare('mailgun_api_key', 'ke' + 'y-' + rand(32, HEX)),
    (() => { const k = `${rand(32, HEX)}-${rand(8, HEX)}-${rand(8, HEX)}`; return within('mailgun_api_key', `MAILGUN_API_KEY=${k}`, k) })(),
    bare('mailchimp_api_key', rand(32, HEX) + '-us' + (1 + randomInt(20))),
    bare('twilio_api_key', 'S' + 'K' + rand(32, HEX)),
    within('twilio_auth_token', `TWILIO_AUTH_TOKEN=${twilioToken}`, twilioToken),
    within('twilio_auth_token', `client = Client("A` + `C${hex32}", "${twilioToken}")`, twilioToken),

    // Registries and platforms
    bare('npm_token', 'np' + 'm_' + checksummedBody()),
    bare('npm_token', 'np' + 'm_' + badChecksumBody()),
    (() => { const u = uuid(); return within('npmrc_auth_token', `//registry.npmjs.org/:_authToken=${u}`, u) })(),
    bare('pypi_token', 'pyp' + 'i-AgEIcHlwaS5vcmc' + rand(70)),
    bare('rubygems_api_key', 'rubygems' + '_' + rand(48, HEX)),
    bare('docker_hub_token', 'dckr' + '_pat_' + rand(27)),
    bare('pulumi_access_token', 'pu' + 'l-' + rand(40, HEX)),
    bare('terraform_cloud_token', rand(14) + '.atlas' + 'v1.' + rand(67)),
    bare('hashicorp_vault_token', 'hv' + 's.' + rand(90)),
    bare('doppler_token', 'dp.' + 'pt.' + rand(43)),
    bare('linear_api_key', 'lin' + '_api_' + rand(40)),
    bare('notion_token', 'nt' + 'n_' + rand(11, DIGITS) + rand(35)),
    bare('notion_token', 'secr' + 'et_' + rand(43)),
    bare('supabase_access_token', 'sb' + 'p_' + rand(40, HEX)),
    bare('shopify_access_token', 'shp' + 'at_' + rand(32, HEX)),
    bare('shopify_shared_secret', 'shp' + 'ss_' + rand(32, HEX)),
    bare('heroku_api_key', 'HR' + 'KU-AA' + rand(58)),
    (() => { const u = uuid(); return within('heroku_api_key', `HEROKU_API_KEY=${u}`, u) })(),
    bare('digitalocean_token', 'do' + 'p_v1_' + rand(64, HEX)),
    (() => { const k = rand(32, HEX); return within('datadog_api_key', `DD_API_KEY=${k}`, k) })(),
    (() => { const k = rand(40, HEX); return within('datadog_app_key', `DD_APP_KEY=${k}`, k) })(),
    bare('newrelic_api_key', 'NR' + 'AK-' + rand(27, UPPER + DIGITS)),
    bare('newrelic_license_key', rand(36, HEX) + 'NR' + 'AL'),
    (() => { const k = rand(32, HEX); return within('algolia_api_key', `ALGOLIA_ADMIN_KEY=${k}`, k) })(),
    (() => { const k = rand(40); return within('cloudflare_api_token', `CLOUDFLARE_API_TOKEN=${k}`, k) })(),
    bare('sentry_auth_token', 'sntr' + 'ys_' + rand(120, ALNUM + '_') + rand(1)),
    bare('sentry_auth_token', 'sntr' + 'yu_' + rand(64, HEX)),
    bare('postman_api_key', 'PM' + 'AK-' + rand(24, HEX) + '-' + rand(34, HEX)),
    bare('grafana_service_account_token', 'gl' + 'sa_' + rand(32) + '_' + rand(8, HEX)),
    bare('grafana_cloud_token', 'gl' + 'c_' + b64url(JSON.stringify({ o: rand(7, DIGITS), n: 'stack-' + rand(6, DIGITS), k: rand(24) })).replace(/[-_]/g, 'A')),
    bare('databricks_token', 'da' + 'pi' + rand(32, HEX)),
    bare('databricks_token', 'da' + 'pi' + rand(32, HEX) + '-2'),
    bare('dynatrace_api_token', 'dt0' + 'c01.' + rand(24, UPPER + DIGITS) + '.' + rand(64, UPPER + DIGITS)),
    bare('planetscale_token', 'pscale' + '_tkn_' + rand(43)),
    bare('planetscale_token', 'pscale' + '_pw_' + rand(43)),
    bare('prefect_api_key', 'pn' + 'u_' + rand(36)),
    bare('readme_api_key', 'rd' + 'me_' + rand(70, LOWER + DIGITS)),
    bare('airtable_token', 'pa' + 't' + rand(14) + '.' + rand(64, HEX)),
    bare('clojars_token', 'CLO' + 'JARS_' + rand(60, LOWER + DIGITS)),
    bare('nuget_api_key', 'o' + 'y2' + rand(43, LOWER + DIGITS)),
    bare('artifactory_token', 'AK' + 'Cp' + rand(69)),
    bare('figma_token', 'fi' + 'gd_' + rand(40, B64URL).replace(/[-_]$/, 'q')),
    bare('sourcegraph_token', 'sg' + 'p_' + rand(40, HEX)),
    bare('sourcegraph_token', 'sg' + 'p_' + rand(16, HEX) + '_' + rand(40, HEX)),
    bare('buildkite_token', 'bk' + 'ua_' + rand(40, HEX)),
    bare('circleci_token', 'CCI' + 'PAT_' + rand(22) + '_' + rand(40, HEX)),
    bare('contentful_token', 'CF' + 'PAT-' + rand(43, B64URL).replace(/[-_]$/, 'q')),
    bare('hubspot_token', 'pa' + 't-na1-' + uuid()),
    bare('posthog_personal_api_key', 'ph' + 'x_' + rand(43)),
    bare('neon_api_key', 'na' + 'pi_' + rand(64, LOWER + DIGITS)),
    bare('render_api_key', 'rn' + 'd_' + rand(32)),
    bare('flyio_token', 'fo' + '1_' + rand(43, B64URL).replace(/[-_]$/, 'q')),
    bare('netlify_token', 'nf' + 'p_' + rand(40)),
    bare('tailscale_key', 'tskey' + '-auth-k' + rand(10) + 'CNTRL-' + rand(33)),
    bare('tailscale_key', 'tskey' + '-api-k' + rand(10) + 'CNTRL-' + rand(33)),
    bare('resend_api_key', 'r' + 'e_' + rand(7) + rand(1, DIGITS) + '_' + rand(23) + rand(1, DIGITS)),
    bare('shippo_api_token', 'shippo' + '_live_' + rand(40, HEX)),
    bare('duffel_api_token', 'duffel' + '_test_' + rand(43, B64URL).replace(/[-_]$/, 'q')),
    bare('easypost_api_key', 'EZ' + 'AK' + rand(54)),
    bare('flutterwave_secret_key', 'FLW' + 'SECK_TEST-' + rand(32, HEX) + '-X'),
    bare('frameio_token', 'fio' + '-u-' + rand(64, B64URL).replace(/[-_]$/, 'q')),
    bare('infracost_api_token', 'ic' + 'o-' + rand(32)),
    bare('scalingo_api_token', 'tk' + '-us-' + rand(48, B64URL).replace(/[-_]$/, 'q')),
    bare('adobe_client_secret', 'p8' + 'e-' + rand(32)),
    bare('alibaba_access_key_id', 'LT' + 'AI' + rand(20)),
    bare('tencent_secret_id', 'AK' + 'ID' + rand(32)),
    bare('openshift_token', 'sha256' + '~' + rand(43, B64URL).replace(/[-_]$/, 'q')),
    bare('onepassword_service_account_token', 'op' + 's_' + b64url(JSON.stringify({ signInAddress: 'my.1password.com', userAuth: { method: 'SRPg-4096', alg: 'PBES2g-HS256', iterations: 650000, salt: rand(22) }, email: rand(12, LOWER) + '@1passwordserviceaccounts.com', srpX: rand(64, HEX), muk: { alg: 'A256GCM', ext: true, k: rand(43), key_ops: ['encrypt', 'decrypt'], kty: 'oct', kid: 'mp' } }))),
    bare('mapbox_secret_token', 's' + 'k.' + b64url(JSON.stringify({ u: rand(10, LOWER), a: rand(25, LOWER + DIGITS) })) + '.' + rand(22, B64URL).replace(/[-_]$/, 'q')),
    bare('dropbox_access_token', 's' + 'l.' + rand(138, B64URL).replace(/[-_]$/, 'q')),
    bare('dropbox_access_token', 's' + 'l.u.' + rand(400, B64URL).replace(/[-_]$/, 'q')),
    bare('cloudflare_origin_ca_key', 'v1' + '.0-' + rand(24, HEX) + '-' + rand(146, HEX)),
    bare('maxmind_license_key', rand(6) + '_' + rand(29) + '_m' + 'mk'),
    (() => { const p = `${uuid()}@${uuid()}/IncomingWebhook/${rand(32, HEX)}/${uuid()}`; return within('teams_webhook_url', `https://contoso.webhook.office.com/webhookb2/${p}`, p) })(),
    (() => { const p = `${rand(7, DIGITS)}/${rand(6, LOWER + DIGITS)}`; return within('zapier_webhook_url', `https://hooks.zapier.com/hooks/catch/${p}/`, p) })(),
    within('sentry_dsn', `https://${dsnKey}@o${rand(6, DIGITS)}.ingest.sentry.io/${rand(7, DIGITS)}`, dsnKey),

    // Keys and signed tokens
    ...([
      ['rsa_private_key', 'RSA PRIVATE KEY'],
      ['ec_private_key', 'EC PRIVATE KEY'],
      ['dsa_private_key', 'DSA PRIVATE KEY'],
      ['openssh_private_key', 'OPENSSH PRIVATE KEY'],
      ['pgp_private_key', 'PGP PRIVATE KEY BLOCK'],
      ['pkcs8_private_key', 'PRIVATE KEY'],
      ['pkcs8_private_key', 'ENCRYPTED PRIVATE KEY'],
      ['private_key', 'SSH2 ENCRYPTED PRIVATE KEY'],
    ] as const).map(([type, label]) => bare(type, pem(label), ['url'])),
    bare('age_secret_key', 'AGE-SECRET' + '-KEY-1' + rand(58, 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L')),
    bare('jwt', `${jwtHeader}.${jwtPayload}.${rand(42, B64URL)}${rand(1)}`),

    // Credentials by position
    within('database_url_password', `postgres://app:${pw}@db.internal:5432/app`, pw),
    within('database_url_password', `mongodb+srv://admin:${pw}@cluster0.abcde.mongodb.net/test?retryWrites=true`, pw),
    within('database_url_password', `redis://:${pw}@cache:6379/0`, pw),
    within('database_url_password', `amqp://worker:${pw}@mq.internal:5672/`, pw),
    within('database_url_password', `mysql://root:${pw}@localhost:3306/shop`, pw),
    within('url_credentials', `https://deploy:${pw}@git.example.com/org/repo.git`, pw),
    within('url_credentials', `ftp://files:${pw}@ftp.example.com/pub/`, pw),
    (() => { const k = rand(40); return within('authorization_header', `Authorization: Token ${k}`, k) })(),
    (() => { const k = rand(38, B64URL) + rand(1, DIGITS) + rand(1); return within('bearer_token', `Authorization: Bearer ${k}`, k) })(),
    (() => { const k = rand(30) + rand(1, DIGITS) + rand(1, LOWER); return within('bearer_token', `use Bearer ${k} for the call`, k) })(),
    within('basic_auth', `Authorization: Basic ${basicCreds}`, basicCreds),
    (() => { const p = password(); return within('basic_auth', `curl -u deploy:${p} https://api.example.com/v1`, p) })(),
    (() => { const p = password(); return within('password', `password=${p}`, p) })(),
    (() => { const p = password(); return within('password', `DB_PASSWORD="${p}"`, p) })(),
    (() => { const p = password(); return within('password', `"password": "${p}"`, p) })(),
    (() => { const p = password(); return within('password', `password: ${p}`, p) })(),
    (() => { const p = password(); return within('password', `mysql --password ${p} -h db`, p) })(),
    (() => { const p = password(); return within('password', `PGPASSWORD=${p} psql -h db -U app`, p) })(),
    (() => { const p = password(); return within('password', `/login?user=bob&password=${p}&next=/home`, p) })(),
    (() => { const p = password(); return within('password', `Server=db;Database=app;User Id=app;Pwd=${p};`, p) })(),
    (() => { const p = password(); return within('password', `password: str = "${p}"`, p) })(),
    (() => { const s = rand(32); return within('secret', `client_secret=${s}`, s) })(),
    (() => { const s = rand(32); return within('secret', `"clientSecret": "${s}"`, s) })(),
    (() => { const s = rand(24, B64); return within('secret', `{"auths": {"registry.example.com": {"auth": "${s}"}}}`, s) })(),
    (() => { const s = rand(40); return within('token', `GITHUB_TOKEN=${s}`, s) })(),
    (() => { const s = rand(40); return within('token', `access_token=${s}`, s) })(),
    (() => { const s = rand(32); return within('token', `X-Auth-Token: ${s}`, s) })(),
    (() => { const s = rand(32); return within('api_key', `api_key = "${s}"`, s) })(),
    (() => { const s = rand(32); return within('api_key', `apiKey: '${s}'`, s) })(),
    (() => { const s = rand(32); return within('api_key', `x-api-key: ${s}`, s) })(),
  ]
}

export type ContextName = 'prose' | 'codeblock' | 'json' | 'yaml' | 'env' | 'url' | 'start' | 'end'

export interface Embedded {
  text: string
  /** The secret as it appears in `text` (escaped, indented). */
  secretForm: string
}

/** Put a fake into one kind of surrounding text. Null when the context does not apply. */
export function embed(fake: Fake, context: ContextName): Embedded | null {
  if (fake.skip?.includes(context)) return null
  const { snippet, secret } = fake
  const isBare = snippet === secret
  const plain = { secretForm: secret }
  switch (context) {
    case 'prose':
      return { text: `I checked the config and the value is ${snippet}. Can you rotate it?`, ...plain }
    case 'codeblock':
      return { text: 'Here is what the tool printed:\n```bash\n' + snippet + '\n```\nThanks!', ...plain }
    case 'json':
      return { text: `{"note": ${JSON.stringify(snippet)}, "count": 3}`, secretForm: JSON.stringify(secret).slice(1, -1) }
    case 'yaml':
      if (snippet.includes('\n')) {
        return {
          text: `settings:\n  note: |\n    ${snippet.replace(/\n/g, '\n    ')}\n  replicas: 2`,
          secretForm: secret.replace(/\n/g, '\n    '),
        }
      }
      return { text: `settings:\n  note: ${snippet}\n  replicas: 2`, ...plain }
    case 'env':
      return { text: isBare ? `LOG_LEVEL=debug\nUPSTREAM_VALUE=${snippet}\nPORT=8080` : `LOG_LEVEL=debug\n${snippet}\nPORT=8080`, ...plain }
    case 'url':
      if (!isBare || encodeURIComponent(snippet) !== snippet) return null
      return { text: `https://example.com/callback?value=${snippet}&mode=1`, ...plain }
    case 'start':
      return { text: `${snippet} is what the tool printed`, ...plain }
    case 'end':
      return { text: `The tool printed ${snippet}`, ...plain }
  }
}

export const CONTEXTS: readonly ContextName[] = ['prose', 'codeblock', 'json', 'yaml', 'env', 'url', 'start', 'end']
