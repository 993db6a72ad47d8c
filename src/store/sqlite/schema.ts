import type { Database } from 'better-sqlite3'

/**
 * The file's layout and how a file of an older layout is brought up to date.
 *
 * `PRAGMA application_id` marks the file as Nexus's, so a database of another program is refused
 * rather than written into; `PRAGMA user_version` is the layout's version. Each migration takes
 * the file from version n-1 to n inside one transaction, so a start that dies halfway leaves the
 * older version, whole, to be migrated again. Later state (the hub's services and channels,
 * webhook cursors) arrives as further migrations adding tables; nothing here assumes the list
 * ends at one.
 */

/** "NXUS" in ASCII: what `PRAGMA application_id` holds in every Nexus file. */
export const APPLICATION_ID = 0x4e585553

export interface Migration {
  /** The user_version the file has once this has run. */
  version: number
  /** What it does, for the log line. */
  summary: string
  sql: string
}

/**
 * Sessions are addressed inside the file by `seq` (the rowid), not by their 48-character id:
 * every message and member row carries the session, and an integer there keeps each row small.
 * Messages and members are keyed by (session, cursor) and (session, agent_id) without a rowid,
 * so a page read or a member check is one index range, and rows of a session sit together.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    summary: 'sessions, members, messages, pairing codes, counters, attempts',
    sql: `
      CREATE TABLE sessions (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        ttl_seconds INTEGER NOT NULL,
        max_agents INTEGER NOT NULL,
        creator_agent_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        last_cursor INTEGER NOT NULL,
        -- The oldest cursor still held (last_cursor + 1 when none is).
        first_cursor INTEGER NOT NULL,
        dropped_through INTEGER NOT NULL,
        member_count INTEGER NOT NULL,
        -- Messages accepted in the session (greeting included), dropped ones too: for /v1/stats.
        accepted INTEGER NOT NULL,
        -- The sum of the held messages' bytes: maxSessionBytes, and the store's total for maxStoreBytes.
        bytes INTEGER NOT NULL
      );
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);

      CREATE TABLE members (
        session INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        -- Join order, which lists of members keep.
        ordinal INTEGER NOT NULL,
        key_hash TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        PRIMARY KEY (session, agent_id)
      ) WITHOUT ROWID;

      CREATE TABLE messages (
        session INTEGER NOT NULL,
        cursor INTEGER NOT NULL,
        id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        text TEXT,
        -- The JSON payload as JSON text; NULL when the message has none (JSON null is 'null').
        json TEXT,
        verified INTEGER NOT NULL,
        -- JSON array of detector names; NULL when nothing was redacted.
        redactions TEXT,
        -- What the message is charged against the page, session and store byte budgets.
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (session, cursor)
      ) WITHOUT ROWID;

      CREATE TABLE pairing_codes (
        code TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        claimed_at INTEGER,
        forget_at INTEGER NOT NULL
      );
      CREATE INDEX pairing_codes_by_session ON pairing_codes (session_id);
      CREATE INDEX pairing_codes_by_forget ON pairing_codes (forget_at);

      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- Messages accepted by sessions since swept: with sessions.accepted, the stats' totalMessages
      -- without a counter row written on every send.
      INSERT INTO counters (name, value) VALUES ('swept_messages', 0);

      -- Attempt counts in their window (the pairing-code failure budget), forgotten by the sweep.
      CREATE TABLE attempts (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        resets_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX attempts_by_reset ON attempts (resets_at);
    `,
  },
  {
    version: 2,
    summary: 'the end of a session (who ended it, why, its final cursor, when)',
    // NULL columns while the session is open; set together, once, by the store's end.
    sql: `
      ALTER TABLE sessions ADD COLUMN ended_by TEXT;
      ALTER TABLE sessions ADD COLUMN ended_reason TEXT;
      ALTER TABLE sessions ADD COLUMN ended_cursor INTEGER;
      ALTER TABLE sessions ADD COLUMN ended_at INTEGER;
    `,
  },
  {
    version: 3,
    summary: 'hub identities',
    sql: `
      -- Who may wear an agent id on the hub: the digest of its agent key, never the key.
      CREATE TABLE hub_identities (
        agent_id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_connected_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX hub_identities_by_last_connected ON hub_identities (last_connected_at);
    `,
  },
  {
    version: 4,
    summary: 'webhooks: one per member, with its delivery cursor, health and lease',
    sql: `
      CREATE TABLE webhooks (
        session INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        -- The session's id too, so the due scan names the session without a join.
        session_id TEXT NOT NULL,
        url TEXT NOT NULL,
        -- The signing secret: needed to sign, never logged.
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        -- The last cursor delivered.
        cursor INTEGER NOT NULL,
        last_success_at INTEGER,
        last_error TEXT,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        -- The key digest of the member that set it: another member under the same id later does not inherit it.
        member_key_hash TEXT NOT NULL,
        lease_holder TEXT,
        lease_until INTEGER NOT NULL,
        PRIMARY KEY (session, agent_id)
      ) WITHOUT ROWID;
      CREATE INDEX webhooks_by_due ON webhooks (next_attempt_at);
      -- A session's webhooks go with it, whichever path deletes the session.
      CREATE TRIGGER webhooks_follow_session AFTER DELETE ON sessions
      BEGIN
        DELETE FROM webhooks WHERE session = old.seq;
      END;
    `,
  },
]

export const SCHEMA_VERSION = migrations[migrations.length - 1]!.version

/** The file is not one this Nexus can use; the message says why, for the one line at start. */
export class SchemaError extends Error {
  override name = 'SchemaError'
}

/** What the file says of itself, read without writing anything. */
export interface FileMarks {
  /** A new, empty file: it gets the marks and every migration. */
  fresh: boolean
  version: number
}

/**
 * Reads the marks and refuses a file that is not a Nexus store, or one newer than this code, before
 * anything is written to it.
 */
export function readMarks(db: Database, where: string): FileMarks {
  const applicationId = db.pragma('application_id', { simple: true }) as number
  const version = db.pragma('user_version', { simple: true }) as number
  const objects = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").get() as { n: number }).n
  const fresh = applicationId === 0 && version === 0 && objects === 0
  if (!fresh && applicationId !== APPLICATION_ID) {
    throw new SchemaError(`${where} is a SQLite database of another program, not a Nexus store; move it away or point DATA_DIR elsewhere`)
  }
  if (version > SCHEMA_VERSION) {
    throw new SchemaError(
      `${where} was written by a newer Nexus (store version ${version}; this one knows up to ${SCHEMA_VERSION}); run that version or a later one`,
    )
  }
  return { fresh, version }
}

/** Runs the migrations the file lacks, each in its own transaction; returns those run. */
export function migrate(db: Database, marks: FileMarks, list: readonly Migration[] = migrations): Migration[] {
  const pending = list.filter((m) => m.version > marks.version)
  for (const migration of pending) {
    db.transaction(() => {
      db.exec(migration.sql)
      db.pragma(`application_id = ${APPLICATION_ID}`)
      db.pragma(`user_version = ${migration.version}`)
    })()
  }
  return pending
}
