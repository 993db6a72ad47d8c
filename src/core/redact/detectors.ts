// The table of built-in detectors. Each entry is one credential format: what literal to look
// for first (the prefilter anchor), the shape, and the check that rules out look-alikes.
// references/redaction.md lists the same types; a test keeps the two equal.

import { Buffer } from 'node:buffer'
import { assignmentDetector } from './assignment.js'
import { authorizationHeaderDetector, basicAuthDetector, bearerDetector } from './authorization.js'
import { hasBase62Crc32 } from './checksum.js'
import { isPlaceholderValue, looksFake } from './placeholder.js'
import { gcpServiceAccountDetector, privateKeyDetector } from './private-key.js'
import { contextual, regexDetector, token } from './shapes.js'
import { PRIORITY, type Detector } from './types.js'
import { urlCredentialsDetector } from './url.js'

/** Token characters with a dash: most vendors' base64url-ish alphabets. */
const DASHED = 'A-Za-z0-9_-'

/**
 * GitHub's 2021 formats and npm's: 30 random base62 + a 6-digit base62 CRC-32 of them. The
 * checksum adds confidence and never takes it away: a token of the exact shape is redacted
 * whether or not it verifies (a mistyped or truncated real token is still a leak, and a scanner
 * that trusts the checksum alone lets through every token a copy mangled). Only a body that is
 * an obvious fake (`xxxx…`, `1234…`) and fails the checksum is left alone; one that verifies is
 * redacted even then.
 */
const checksumOrShape = (body: string): boolean => hasBase62Crc32(body) || !looksFake(body)

/** For shapes with no checksum and few random characters: a generated token holds a digit. */
const hasDigit = (body: string): boolean => /[0-9]/.test(body) && !looksFake(body)

/** A JWT's first segment must decode to a JOSE header, which rules out any other "eyJ…" string. */
function isJoseHeader(jwt: string): boolean {
  const header = jwt.slice(0, jwt.indexOf('.'))
  const json = Buffer.from(header, 'base64url').toString('utf8')
  return json.startsWith('{') && /"(?:alg|typ|kid|enc)"/.test(json)
}

/** A SAS signature is only a credential inside a SAS query (with its version / expiry fields). */
function inSasQuery(_secret: string, m: RegExpExecArray): boolean {
  const around = m.input.slice(Math.max(0, m.index - 400), m.index + 400)
  return /[?&;]sv=\d{4}-\d{2}-\d{2}/.test(around) && !looksFake(_secret)
}

export const DETECTORS: readonly Detector[] = [
  // ── Cloud providers ──────────────────────────────────────────────────────────────────────
  regexDetector({
    type: 'aws_access_key_id',
    anchors: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  }),
  // 40 base64 characters are everywhere; only the key name makes them an AWS secret.
  contextual({
    type: 'aws_secret_access_key',
    anchors: ['secret_access_key', 'secretaccesskey', 'secret-access-key', 'aws_secret', 'aws-secret', 'awssecret'],
    key: '(?:aws[_-]?)?secret[_-]?access[_-]?key|aws[_-]?secret(?:[_-]?key)?',
    value: '[A-Za-z0-9/+]{40}',
    alphabet: 'A-Za-z0-9/+=',
  }),
  contextual({
    type: 'aws_session_token',
    anchors: ['session_token', 'sessiontoken', 'session-token', 'security-token'],
    key: 'aws[_-]?session[_-]?token|x-amz-security-token|sessiontoken',
    value: '[A-Za-z0-9/+=]{100,4096}',
    alphabet: 'A-Za-z0-9/+=',
  }),
  gcpServiceAccountDetector,
  token({ type: 'gcp_api_key', prefixes: ['AIza'], body: '[A-Za-z0-9_-]{35}', alphabet: DASHED }),
  token({ type: 'gcp_oauth_client_secret', prefixes: ['GOCSPX-'], body: '[A-Za-z0-9_-]{28}', alphabet: DASHED }),
  token({ type: 'google_oauth_access_token', prefixes: ['ya29.'], body: '[A-Za-z0-9_-]{20,2048}', alphabet: DASHED }),
  contextual({
    type: 'azure_storage_account_key',
    anchors: ['accountkey', 'storage_key', 'storage-key', 'storagekey', 'storage_account_key', 'storage_access_key'],
    key: 'accountkey|azure[_-]?storage[_-]?(?:account[_-]?)?(?:access[_-]?)?key',
    value: '[A-Za-z0-9+/]{86}==',
    alphabet: 'A-Za-z0-9+/=',
  }),
  contextual({
    type: 'azure_shared_access_key',
    anchors: ['sharedaccesskey'],
    key: 'sharedaccesskey',
    value: '[A-Za-z0-9+/]{43}=',
    alphabet: 'A-Za-z0-9+/=',
  }),
  regexDetector({
    type: 'azure_sas_token',
    anchors: ['sig='],
    pattern: /[?&;]sig=([A-Za-z0-9%+/]{30,200}(?:%3D|=){0,2})(?![A-Za-z0-9%+/=])/dg,
    group: 1,
    validate: inSasQuery,
  }),
  // Entra ID (Azure AD) client secrets carry "Q~" after a 3-character id and a version digit.
  regexDetector({
    type: 'azure_ad_client_secret',
    anchors: ['Q~'],
    pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~-])/g,
  }),

  // ── Code hosts ───────────────────────────────────────────────────────────────────────────
  token({ type: 'github_pat', prefixes: ['ghp_'], body: '[A-Za-z0-9]{36}', validate: checksumOrShape }),
  token({ type: 'github_oauth_token', prefixes: ['gho_'], body: '[A-Za-z0-9]{36}', validate: checksumOrShape }),
  token({ type: 'github_app_token', prefixes: ['ghu_', 'ghs_'], body: '[A-Za-z0-9]{36,251}', validate: checksumOrShape }),
  token({ type: 'github_refresh_token', prefixes: ['ghr_'], body: '[A-Za-z0-9]{36,251}', validate: checksumOrShape }),
  token({ type: 'github_fine_grained_pat', prefixes: ['github_pat_'], body: '[A-Za-z0-9]{22}_[A-Za-z0-9]{59}' }),
  // GitLab 17+ "routable" tokens append ".<version>.<crc>"; older ones are 20 characters.
  token({ type: 'gitlab_pat', prefixes: ['glpat-'], body: '[A-Za-z0-9_-]{20,64}(?:\\.[0-9a-z]{2}\\.[0-9a-z]{9})?', alphabet: DASHED }),
  token({ type: 'gitlab_runner_token', prefixes: ['glrt-'], body: '[A-Za-z0-9_-]{20,64}(?:\\.[0-9a-z]{2}\\.[0-9a-z]{9})?', alphabet: DASHED }),
  token({ type: 'gitlab_runner_token', prefixes: ['GR1348941'], body: '[A-Za-z0-9_-]{20,40}', alphabet: DASHED }),
  token({ type: 'gitlab_pipeline_trigger_token', prefixes: ['glptt-'], body: '[0-9a-f]{40}', alphabet: DASHED }),
  token({ type: 'gitlab_deploy_token', prefixes: ['gldt-'], body: '[A-Za-z0-9_-]{20,64}', alphabet: DASHED }),
  token({
    type: 'gitlab_token',
    prefixes: ['glft-', 'glsoat-', 'glcbt-', 'gloas-', 'glimt-', 'glagent-', 'glffct-', 'glwt-'],
    body: '[A-Za-z0-9_-]{20,80}',
    alphabet: DASHED,
  }),
  token({ type: 'bitbucket_app_password', prefixes: ['ATBB'], body: '[A-Za-z0-9_=-]{32,64}', alphabet: 'A-Za-z0-9_=-', before: DASHED }),
  token({ type: 'bitbucket_access_token', prefixes: ['ATCTT3'], body: '[A-Za-z0-9_=-]{100,300}', alphabet: 'A-Za-z0-9_=-', before: DASHED }),
  token({ type: 'atlassian_api_token', prefixes: ['ATATT3'], body: '[A-Za-z0-9_=-]{100,300}', alphabet: 'A-Za-z0-9_=-', before: DASHED }),

  // ── Chat ─────────────────────────────────────────────────────────────────────────────────
  token({ type: 'slack_bot_token', prefixes: ['xoxb-'], body: '[0-9]{8,14}-[A-Za-z0-9-]{10,150}', alphabet: DASHED }),
  token({ type: 'slack_user_token', prefixes: ['xoxp-', 'xoxa-', 'xoxo-', 'xoxs-', 'xoxr-'], body: '[0-9]{1,14}-[A-Za-z0-9-]{10,150}', alphabet: DASHED }),
  token({ type: 'slack_app_token', prefixes: ['xapp-'], body: '[0-9]-[A-Za-z0-9-]{20,150}', alphabet: DASHED }),
  token({ type: 'slack_config_token', prefixes: ['xoxe.xoxp-', 'xoxe.xoxb-', 'xoxe-'], body: '[0-9]-[A-Za-z0-9-]{20,250}', alphabet: DASHED }),
  regexDetector({
    type: 'slack_webhook_url',
    anchors: ['hooks.slack.com'],
    pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([A-Za-z0-9_/-]{20,200})(?![A-Za-z0-9_/-])/dg,
    group: 1,
  }),
  // No literal to anchor on (the first segment is the base64 of a numeric user id), so this
  // runs on every text; the leading [MNO] and the two dots keep attempts short.
  regexDetector({
    type: 'discord_bot_token',
    anchors: [],
    pattern: /(?<![A-Za-z0-9_-])[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![A-Za-z0-9_-])/g,
  }),
  regexDetector({
    type: 'discord_webhook_url',
    anchors: ['/api/webhooks/'],
    pattern: /discord(?:app)?\.com\/api\/webhooks\/[0-9]{17,20}\/([A-Za-z0-9_-]{60,68})(?![A-Za-z0-9_-])/dg,
    group: 1,
  }),
  regexDetector({
    type: 'telegram_bot_token',
    anchors: [':AA'],
    pattern: /(?<![A-Za-z0-9_-])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
  }),

  // ── Payments ─────────────────────────────────────────────────────────────────────────────
  token({ type: 'stripe_secret_key', prefixes: ['sk_live_', 'sk_test_'], body: '[A-Za-z0-9]{24,247}' }),
  token({ type: 'stripe_restricted_key', prefixes: ['rk_live_', 'rk_test_'], body: '[A-Za-z0-9]{24,247}' }),
  token({ type: 'stripe_webhook_secret', prefixes: ['whsec_'], body: '[A-Za-z0-9+/=]{32,88}', alphabet: 'A-Za-z0-9_+/=', before: DASHED }),
  // "EAAA" is common inside base64 blobs, so its boundaries also exclude + and / (not "=",
  // which inside base64 only pads the end, and which must be allowed for "TOKEN=EAAA…").
  token({ type: 'square_access_token', prefixes: ['EAAA'], body: '[A-Za-z0-9_-]{60}', alphabet: 'A-Za-z0-9_+/=-', before: 'A-Za-z0-9_+/-' }),
  token({ type: 'square_access_token', prefixes: ['sq0atp-'], body: '[A-Za-z0-9_-]{22}', alphabet: DASHED }),
  token({ type: 'square_oauth_secret', prefixes: ['sq0csp-'], body: '[A-Za-z0-9_-]{43}', alphabet: DASHED }),
  regexDetector({
    type: 'paypal_braintree_access_token',
    anchors: ['access_token$'],
    pattern: /access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}(?![A-Za-z0-9])/g,
  }),

  // ── Model providers ──────────────────────────────────────────────────────────────────────
  // Also covers the OpenAI-compatible "sk-" keys of other providers (DeepSeek, Moonshot, …).
  token({
    type: 'openai_api_key',
    prefixes: ['sk-'],
    body: '(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,250}|[A-Za-z0-9]{32,64})',
    alphabet: DASHED,
  }),
  token({ type: 'anthropic_api_key', prefixes: ['sk-ant-'], body: '(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_-]{32,150}', alphabet: DASHED }),
  token({ type: 'langfuse_secret_key', prefixes: ['sk-lf-'], body: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', alphabet: DASHED }),
  token({ type: 'elevenlabs_api_key', prefixes: ['sk_'], body: '[a-f0-9]{48}' }),
  token({ type: 'cerebras_api_key', prefixes: ['csk-'], body: '[a-z0-9]{48}', alphabet: DASHED }),
  token({ type: 'together_api_key', prefixes: ['tgp_v1_'], body: '[A-Za-z0-9_-]{40,48}', alphabet: DASHED }),
  token({ type: 'pinecone_api_key', prefixes: ['pcsk_'], body: '[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,80}' }),
  token({ type: 'tavily_api_key', prefixes: ['tvly-'], body: '(?:dev-|prod-)?[A-Za-z0-9]{32}', alphabet: DASHED }),
  token({ type: 'firecrawl_api_key', prefixes: ['fc-'], body: '[a-f0-9]{32}', alphabet: DASHED }),
  token({ type: 'openrouter_api_key', prefixes: ['sk-or-v1-'], body: '[a-f0-9]{64}', alphabet: DASHED }),
  token({ type: 'huggingface_token', prefixes: ['hf_', 'api_org_'], body: '[A-Za-z0-9]{34,40}' }),
  token({ type: 'groq_api_key', prefixes: ['gsk_'], body: '[A-Za-z0-9]{48,56}' }),
  token({ type: 'replicate_api_token', prefixes: ['r8_'], body: '[A-Za-z0-9]{37,40}' }),
  token({ type: 'perplexity_api_key', prefixes: ['pplx-'], body: '[A-Za-z0-9]{40,56}', alphabet: DASHED }),
  token({ type: 'xai_api_key', prefixes: ['xai-'], body: '[A-Za-z0-9]{70,90}', alphabet: DASHED }),
  token({ type: 'langsmith_api_key', prefixes: ['lsv2_pt_', 'lsv2_sk_'], body: '[a-f0-9]{32}_[a-f0-9]{10}' }),
  contextual({ type: 'cohere_api_key', anchors: ['cohere', 'co_api_key'], key: 'cohere|co_api_key', value: '[A-Za-z0-9]{40}', alphabet: 'A-Za-z0-9' }),
  contextual({ type: 'mistral_api_key', anchors: ['mistral'], key: 'mistral', value: '[A-Za-z0-9]{32}', alphabet: 'A-Za-z0-9' }),

  // ── Mail and messaging ───────────────────────────────────────────────────────────────────
  token({ type: 'sendgrid_api_key', prefixes: ['SG.'], body: '[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}', alphabet: DASHED }),
  token({ type: 'mailgun_api_key', prefixes: ['key-'], body: '[0-9a-f]{32}', alphabet: DASHED }),
  contextual({ type: 'mailgun_api_key', anchors: ['mailgun'], key: 'mailgun', value: '[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}', alphabet: DASHED }),
  regexDetector({
    type: 'mailchimp_api_key',
    anchors: ['-us'],
    pattern: /(?<![A-Za-z0-9_-])[0-9a-f]{32}-us[0-9]{1,2}(?![A-Za-z0-9_-])/g,
  }),
  token({ type: 'twilio_api_key', prefixes: ['SK'], body: '[0-9a-f]{32}' }),
  // The account SID (AC…) is an identifier; the 32-hex auth token next to it is the secret.
  regexDetector({
    type: 'twilio_auth_token',
    anchors: ['AC'],
    pattern: /(?<![A-Za-z0-9_])AC[0-9a-f]{32}\\?["']?[ \t]{0,2}[:,][ \t]{0,2}\\?["']?([0-9a-f]{32})(?![A-Za-z0-9_])/dg,
    group: 1,
    priority: PRIORITY.contextual,
  }),
  contextual({ type: 'twilio_auth_token', anchors: ['twilio'], key: 'twilio', value: '[0-9a-f]{32}', alphabet: 'A-Za-z0-9' }),

  // ── Package registries and developer platforms ───────────────────────────────────────────
  token({ type: 'npm_token', prefixes: ['npm_'], body: '[A-Za-z0-9]{36}', validate: checksumOrShape }),
  regexDetector({
    type: 'npmrc_auth_token',
    anchors: [':_authToken='],
    // The last character excludes sentence punctuation: "…:_authToken=abc." ends at "c".
    pattern: /:_authToken=([^\s"'`]{7,511}[^\s"'`.,;])/dg,
    group: 1,
    priority: PRIORITY.contextual,
    validate: (secret) => !isPlaceholderValue(secret),
  }),
  token({ type: 'pypi_token', prefixes: ['pypi-'], body: 'AgE[A-Za-z0-9_-]{50,1000}', alphabet: DASHED }),
  token({ type: 'rubygems_api_key', prefixes: ['rubygems_'], body: '[a-f0-9]{48}' }),
  token({ type: 'docker_hub_token', prefixes: ['dckr_pat_', 'dckr_oat_'], body: '[A-Za-z0-9_-]{24,40}', alphabet: DASHED }),
  token({ type: 'pulumi_access_token', prefixes: ['pul-'], body: '[a-f0-9]{40}', alphabet: DASHED }),
  regexDetector({
    type: 'terraform_cloud_token',
    anchors: ['.atlasv1.'],
    pattern: /(?<![A-Za-z0-9_.-])[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}(?![A-Za-z0-9_=-])/g,
  }),
  token({ type: 'hashicorp_vault_token', prefixes: ['hvs.', 'hvb.', 'hvr.'], body: '[A-Za-z0-9_-]{24,200}', alphabet: DASHED }),
  token({ type: 'doppler_token', prefixes: ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'], body: '[A-Za-z0-9]{40,44}', alphabet: DASHED }),
  token({ type: 'linear_api_key', prefixes: ['lin_api_'], body: '[A-Za-z0-9]{40}' }),
  token({ type: 'notion_token', prefixes: ['ntn_'], body: '[0-9]{11}[A-Za-z0-9]{35}' }),
  token({ type: 'notion_token', prefixes: ['secret_'], body: '[A-Za-z0-9]{43}' }),
  token({ type: 'supabase_access_token', prefixes: ['sbp_'], body: '[a-f0-9]{40}' }),
  token({ type: 'shopify_access_token', prefixes: ['shpat_', 'shpca_', 'shppa_'], body: '[a-fA-F0-9]{32}' }),
  token({ type: 'shopify_shared_secret', prefixes: ['shpss_'], body: '[a-fA-F0-9]{32}' }),
  token({ type: 'heroku_api_key', prefixes: ['HRKU-'], body: '[A-Za-z0-9_-]{40,80}', alphabet: DASHED }),
  // Older Heroku keys are plain UUIDs: only the key name tells them from any other UUID.
  contextual({
    type: 'heroku_api_key',
    anchors: ['heroku'],
    key: 'heroku',
    value: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
    alphabet: DASHED,
  }),
  token({ type: 'digitalocean_token', prefixes: ['dop_v1_', 'doo_v1_', 'dor_v1_'], body: '[a-f0-9]{64}' }),
  contextual({
    type: 'datadog_api_key',
    anchors: ['dd_api', 'dd-api', 'ddapi', 'datadog'],
    key: 'dd[_-]?api[_-]?key|datadog[_-]?api[_-]?key',
    value: '[a-f0-9]{32}',
    alphabet: 'A-Za-z0-9',
  }),
  contextual({
    type: 'datadog_app_key',
    anchors: ['dd_app', 'dd-app', 'ddapp', 'datadog'],
    key: 'dd[_-]?app(?:lication)?[_-]?key|datadog[_-]?app(?:lication)?[_-]?key',
    value: '[a-f0-9]{40}',
    alphabet: 'A-Za-z0-9',
  }),
  token({ type: 'newrelic_api_key', prefixes: ['NRAK-', 'NRAA-', 'NRII-', 'NRIQ-'], body: '[A-Za-z0-9_-]{20,40}', alphabet: DASHED }),
  regexDetector({
    type: 'newrelic_license_key',
    anchors: ['NRAL'],
    pattern: /(?<![A-Za-z0-9_-])[a-f0-9]{36}NRAL(?![A-Za-z0-9_-])/g,
  }),
  contextual({ type: 'algolia_api_key', anchors: ['algolia'], key: 'algolia', value: '[a-f0-9]{32}', alphabet: 'A-Za-z0-9' }),
  contextual({
    type: 'cloudflare_api_token',
    anchors: ['cloudflare', 'cf_api', 'cf-api'],
    key: 'cloudflare|cf[_-]api',
    value: '[A-Za-z0-9_-]{40}',
    alphabet: DASHED,
  }),
  token({ type: 'sentry_auth_token', prefixes: ['sntrys_'], body: '[A-Za-z0-9+/=_]{60,600}', alphabet: 'A-Za-z0-9_+/=', before: DASHED }),
  token({ type: 'sentry_auth_token', prefixes: ['sntryu_'], body: '[a-f0-9]{64}' }),
  // The DSN's public key (and legacy secret) let anyone post events; host and project stay.
  regexDetector({
    type: 'sentry_dsn',
    anchors: ['://'],
    pattern: /(?<![A-Za-z0-9+.-])https?:\/\/([0-9a-f]{32}(?::[0-9a-f]{32})?)@[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?\/(?:[A-Za-z0-9_-]{1,64}\/){0,4}[0-9]{1,20}(?![A-Za-z0-9])/dg,
    group: 1,
  }),

  token({ type: 'postman_api_key', prefixes: ['PMAK-'], body: '[a-f0-9]{24}-[a-f0-9]{34}', alphabet: DASHED }),
  token({ type: 'grafana_service_account_token', prefixes: ['glsa_'], body: '[A-Za-z0-9]{32}_[a-f0-9]{8}' }),
  token({ type: 'grafana_cloud_token', prefixes: ['glc_'], body: '[A-Za-z0-9+/]{32,400}={0,2}', alphabet: 'A-Za-z0-9_+/=', before: DASHED }),
  token({ type: 'databricks_token', prefixes: ['dapi'], body: '[a-f0-9]{32}(?:-[0-9])?', alphabet: DASHED }),
  token({ type: 'dynatrace_api_token', prefixes: ['dt0c01.'], body: '[A-Z0-9]{24}\\.[A-Z0-9]{64}', alphabet: DASHED }),
  token({ type: 'planetscale_token', prefixes: ['pscale_tkn_', 'pscale_pw_', 'pscale_oauth_'], body: '[A-Za-z0-9_-]{32,64}', alphabet: DASHED }),
  token({ type: 'prefect_api_key', prefixes: ['pnu_'], body: '[A-Za-z0-9]{36}' }),
  token({ type: 'readme_api_key', prefixes: ['rdme_'], body: '[a-z0-9]{70}' }),
  token({ type: 'airtable_token', prefixes: ['pat'], body: '[A-Za-z0-9]{14}\\.[a-f0-9]{64}' }),
  token({ type: 'clojars_token', prefixes: ['CLOJARS_'], body: '[a-z0-9]{60}' }),
  token({ type: 'nuget_api_key', prefixes: ['oy2'], body: '[a-z0-9]{43}' }),
  token({ type: 'artifactory_token', prefixes: ['AKCp'], body: '[A-Za-z0-9]{69}' }),
  token({ type: 'figma_token', prefixes: ['figd_'], body: '[A-Za-z0-9_-]{40,44}', alphabet: DASHED }),
  token({ type: 'sourcegraph_token', prefixes: ['sgp_'], body: '(?:[a-f0-9]{16}_)?[a-f0-9]{40}' }),
  token({ type: 'buildkite_token', prefixes: ['bkua_'], body: '[a-f0-9]{40}' }),
  token({ type: 'circleci_token', prefixes: ['CCIPAT_'], body: '[A-Za-z0-9]{22}_[a-f0-9]{40}' }),
  token({ type: 'contentful_token', prefixes: ['CFPAT-'], body: '[A-Za-z0-9_-]{43}', alphabet: DASHED }),
  token({ type: 'hubspot_token', prefixes: ['pat-na1-', 'pat-eu1-'], body: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', alphabet: DASHED }),
  token({ type: 'posthog_personal_api_key', prefixes: ['phx_'], body: '[A-Za-z0-9]{43}' }),
  token({ type: 'neon_api_key', prefixes: ['napi_'], body: '[a-z0-9]{64}' }),
  token({ type: 'render_api_key', prefixes: ['rnd_'], body: '[A-Za-z0-9]{32}' }),
  token({ type: 'flyio_token', prefixes: ['fo1_'], body: '[A-Za-z0-9_-]{43}', alphabet: DASHED }),
  token({ type: 'netlify_token', prefixes: ['nfp_'], body: '[A-Za-z0-9]{36,44}' }),
  token({ type: 'tailscale_key', prefixes: ['tskey-'], body: '(?:api|auth|client|webhook|scim)-[A-Za-z0-9]{8,24}-[A-Za-z0-9]{16,64}', alphabet: DASHED }),
  token({ type: 'resend_api_key', prefixes: ['re_'], body: '[A-Za-z0-9]{8}_[A-Za-z0-9]{24}', validate: hasDigit }),
  token({ type: 'shippo_api_token', prefixes: ['shippo_live_', 'shippo_test_'], body: '[a-f0-9]{40}' }),
  token({ type: 'duffel_api_token', prefixes: ['duffel_live_', 'duffel_test_'], body: '[A-Za-z0-9_-]{43}', alphabet: DASHED }),
  token({ type: 'easypost_api_key', prefixes: ['EZAK', 'EZTK'], body: '[A-Za-z0-9]{54}' }),
  token({ type: 'flutterwave_secret_key', prefixes: ['FLWSECK_TEST-', 'FLWSECK-'], body: '[a-f0-9]{32}-X', alphabet: DASHED }),
  token({ type: 'frameio_token', prefixes: ['fio-u-'], body: '[A-Za-z0-9_=-]{64}', alphabet: 'A-Za-z0-9_=-', before: DASHED }),
  token({ type: 'infracost_api_token', prefixes: ['ico-'], body: '[A-Za-z0-9]{32}', alphabet: DASHED }),
  token({ type: 'scalingo_api_token', prefixes: ['tk-us-'], body: '[A-Za-z0-9_-]{48}', alphabet: DASHED }),
  token({ type: 'adobe_client_secret', prefixes: ['p8e-'], body: '[A-Za-z0-9]{32}', alphabet: DASHED }),
  token({ type: 'alibaba_access_key_id', prefixes: ['LTAI'], body: '[A-Za-z0-9]{20}' }),
  token({ type: 'tencent_secret_id', prefixes: ['AKID'], body: '[A-Za-z0-9]{32}' }),
  token({ type: 'openshift_token', prefixes: ['sha256~'], body: '[A-Za-z0-9_-]{43}', alphabet: DASHED }),
  token({ type: 'onepassword_service_account_token', prefixes: ['ops_eyJ'], body: '[A-Za-z0-9+/_=-]{250,4096}', alphabet: 'A-Za-z0-9_+/=-', before: DASHED }),
  token({ type: 'mapbox_secret_token', prefixes: ['sk.eyJ'], body: '[A-Za-z0-9_-]{50,500}\\.[A-Za-z0-9_-]{22}', alphabet: DASHED }),
  token({ type: 'dropbox_access_token', prefixes: ['sl.u.', 'sl.'], body: '[A-Za-z0-9_-]{130,1500}', alphabet: DASHED }),
  token({ type: 'cloudflare_origin_ca_key', prefixes: ['v1.0-'], body: '[a-f0-9]{24}-[a-f0-9]{146}', alphabet: DASHED }),
  regexDetector({
    type: 'maxmind_license_key',
    anchors: ['_mmk'],
    pattern: /(?<![A-Za-z0-9_])[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk(?![A-Za-z0-9_])/g,
  }),
  regexDetector({
    type: 'teams_webhook_url',
    anchors: ['/webhookb2/'],
    pattern: /\.webhook\.office\.com\/webhookb2\/([A-Za-z0-9@-]{36,80}\/IncomingWebhook\/[a-f0-9]{32}\/[A-Za-z0-9-]{36}(?:\/[A-Za-z0-9_-]{20,80})?)(?![A-Za-z0-9_-])/dg,
    group: 1,
  }),
  regexDetector({
    type: 'zapier_webhook_url',
    anchors: ['hooks.zapier.com'],
    pattern: /hooks\.zapier\.com\/hooks\/catch\/([0-9]{4,12}\/[A-Za-z0-9]{5,12})(?![A-Za-z0-9])/dg,
    group: 1,
  }),

  // ── Keys and signed tokens ───────────────────────────────────────────────────────────────
  privateKeyDetector,
  token({ type: 'age_secret_key', prefixes: ['AGE-SECRET-KEY-1'], body: '[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}', alphabet: DASHED }),
  regexDetector({
    type: 'jwt',
    anchors: ['eyJ'],
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,16384}\.[A-Za-z0-9_-]{0,4096}(?:\.[A-Za-z0-9_-]{1,16384}){0,2}(?![A-Za-z0-9_-])/g,
    validate: isJoseHeader,
  }),

  // ── Credentials by position: URLs, HTTP headers, key = value ─────────────────────────────
  urlCredentialsDetector,
  authorizationHeaderDetector,
  bearerDetector,
  basicAuthDetector,
  assignmentDetector,
]

/** Every type a built-in detector can report, in table order, without duplicates. */
export function builtinTypes(): string[] {
  return [...new Set(DETECTORS.flatMap((d) => d.types))]
}
