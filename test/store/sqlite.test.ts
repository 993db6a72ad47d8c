import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { SqliteStore } from '../../src/store/sqlite/store.js'
import { storeConformance } from './conformance.js'

/** The conformance suite, unchanged, on a SQLite file: a fresh directory per store. */
const root = mkdtempSync(join(tmpdir(), 'nexus-sqlite-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
let stores = 0

storeConformance(t, (limits) => new SqliteStore({ ...limits, dataDir: join(root, String(++stores)) }))
