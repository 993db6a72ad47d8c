// Passwords inside URLs: `postgres://app:s3cret@db:5432/app`, `https://user:pass@host/`. Only
// the password is replaced, so the reader still sees which database or host was meant.

import { isPlaceholderValue } from './placeholder.js'
import { PRIORITY, type Detector, type Emit } from './types.js'

/**
 * Starts with the literal "://" so the engine can search for it quickly (a leading lookbehind
 * would be tried at every position: 40x slower); the scheme is then read backwards by a
 * lookbehind that must start at a word boundary. User and password exclude "/", so one attempt never scans
 * past the authority part and attempts cannot overlap: linear. The password may contain "@"
 * (backtracking to the last "@" stays within its 256-character bound).
 */
const URL_CREDENTIALS = /:\/\/(?<=(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{1,30}):\/\/)([^\s/?#@:"'<>\\`]{0,128}):([^\s/?#"'<>\\`]{1,256})@/dg

/** Database, cache and broker schemes: their URLs get the more telling label. */
const DATABASE_SCHEMES = new Set([
  'postgres', 'postgresql', 'pg', 'mysql', 'mysql2', 'mysqlx', 'mariadb', 'mongodb', 'mongodb+srv',
  'redis', 'rediss', 'valkey', 'valkeys', 'amqp', 'amqps', 'mssql', 'sqlserver', 'oracle', 'clickhouse',
  'cockroachdb', 'couchdb', 'couchbase', 'couchbases', 'neo4j', 'neo4j+s', 'neo4j+ssc', 'bolt', 'bolt+s',
  'nats', 'kafka', 'mqtt', 'mqtts', 'memcached', 'cassandra', 'influxdb', 'snowflake', 'db2',
  'stomp', 'stomps', 'zookeeper', 'rabbitmq', 'elasticsearch', 'opensearch', 'tidb', 'timescaledb',
  'postgis', 'cockroach', 'surrealdb', 'arangodb', 'questdb', 'vertica', 'presto', 'trino', 'hive',
])

function findUrlCredentials(text: string, emit: Emit): void {
  const re = URL_CREDENTIALS
  re.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const scheme = (m[1] ?? '').toLowerCase()
    const user = m[2] ?? ''
    const password = m[3] ?? ''
    const span = m.indices?.[3]
    if (span === undefined) continue
    // `user:password@`, `:${PGPASSWORD}@`, `****`: a template, not a secret.
    if (isPlaceholderValue(password)) continue
    // `docker run -v`-style or port-like numbers after a numeric "user" are not credentials.
    if (/^\d+$/.test(user) && /^\d+$/.test(password)) continue
    emit(span[0], span[1], DATABASE_SCHEMES.has(scheme) ? 'database_url_password' : 'url_credentials')
  }
}

export const urlCredentialsDetector: Detector = {
  types: ['database_url_password', 'url_credentials'],
  anchors: ['://'],
  priority: PRIORITY.generic,
  find: findUrlCredentials,
}
