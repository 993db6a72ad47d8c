import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Sqlite, { type Database } from 'better-sqlite3'
import { type Migration, migrate, readMarks, SchemaError } from './schema.js'

/** How hard a commit is pressed to the disk (SQLITE_SYNCHRONOUS). */
export type Synchronous = 'normal' | 'full'

export interface OpenOptions {
  /** The directory holding the file; created when missing. */
  dataDir: string
  /**
   * normal: a commit is in the write-ahead log before it returns, so it survives the process
   * dying at any moment; full: the log is also flushed to the disk, so it survives power loss.
   */
  synchronous: Synchronous
}

export interface OpenedFile {
  db: Database
  path: string
  migrated: Migration[]
  /** Gives the directory back: closes the file and removes the pid file. */
  release(): void
}

export const FILE_NAME = 'nexus.db'
const PID_FILE = 'nexus.pid'

/** The store cannot start on this directory or file; the message is the one line to print. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError'
}

/**
 * Opens (or creates) DATA_DIR/nexus.db for this process alone.
 *
 * One process owns the file: SQLite's exclusive locking mode holds the lock from the first read
 * until close, atomically and released by the kernel if the process dies, so a stale lock never
 * needs clearing. Beside it a pid file says who holds it, only so that a second server refused
 * the lock can name the first.
 */
export function openStoreFile(options: OpenOptions): OpenedFile {
  const { dataDir } = options
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (err) {
    throw new StoreOpenError(`DATA_DIR=${JSON.stringify(dataDir)} cannot be created: ${reason(err)}`)
  }
  try {
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (err) {
    throw new StoreOpenError(`DATA_DIR=${JSON.stringify(dataDir)} is not writable: ${reason(err)}`)
  }
  const path = join(dataDir, FILE_NAME)
  const pidPath = join(dataDir, PID_FILE)

  let db: Database
  try {
    // No busy wait: the only other holder of the lock can be another server, which keeps it.
    db = new Sqlite(path, { timeout: 0 })
  } catch (err) {
    throw new StoreOpenError(`${path} cannot be opened: ${reason(err)}`)
  }
  try {
    // Before the first read: in exclusive mode each lock taken is kept until close.
    db.pragma('locking_mode = EXCLUSIVE')
    // Read-only: a file of another program is refused before anything is written to it.
    const marks = readMarks(db, path)
    // Only possible before the first table: lets the sweep hand freed pages back to the disk.
    if (marks.fresh) db.pragma('auto_vacuum = INCREMENTAL')
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    // The log is emptied into the file every 1000 pages (the default) and then cut back to this.
    db.pragma('journal_size_limit = 16777216')
    db.pragma('foreign_keys = OFF')
    // A write takes the exclusive lock now, so a second server is refused here and not later.
    db.exec('BEGIN IMMEDIATE; COMMIT')
    const migrated = migrate(db, marks)
    writeFileSync(pidPath, `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`)
    return {
      db,
      path,
      migrated,
      release() {
        if (db.open) db.close()
        rmSync(pidPath, { force: true })
      },
    }
  } catch (err) {
    if (db.open) db.close()
    if (err instanceof SchemaError) throw new StoreOpenError(err.message)
    const code = (err as { code?: string }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new StoreOpenError(`${path} is in use by another Nexus server (${holder(pidPath)}); stop it or give this one another DATA_DIR`)
    }
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new StoreOpenError(`${path} is not a Nexus store (not a SQLite database); move it away or point DATA_DIR elsewhere`)
    }
    throw new StoreOpenError(`${path} cannot be opened: ${reason(err)}`)
  }
}

/** Who the pid file names, in words. */
function holder(pidPath: string): string {
  try {
    const { pid, startedAt } = JSON.parse(readFileSync(pidPath, 'utf8')) as { pid?: unknown; startedAt?: unknown }
    return `pid ${String(pid)}, started ${String(startedAt)}`
  } catch {
    return 'its pid file is missing'
  }
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string }
  return e.message ?? String(err)
}
