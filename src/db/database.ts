/**
 * Opens wirehub's database: PostgreSQL through a pg pool when DATABASE_URL is set, otherwise an
 * embedded PGlite in DATA_DIR (behind the data-folder lock). Both give a Prisma client and a raw
 * `query` for hot paths (telemetry batches) where Prisma's per-query overhead dominates.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaClient } from '../generated/prisma/client.js'
import { StartupError, dataDirFailure } from '../lib/startup-errors.js'
import { lockDataDir } from './data-dir-lock.js'
import { fixPgliteAdapterFactory } from './pglite-adapter.js'
import { waitForPostgres, type WaitLogger } from './postgres-wait.js'

export type Prisma = InstanceType<typeof PrismaClient>

export interface Database {
  kind: 'postgres' | 'pglite'
  prisma: Prisma
  /**
   * Raw parameterised SQL for hot paths; rows come back as plain objects. With `name`, PostgreSQL
   * prepares the statement once per pooled connection and reuses its parse and plan (the name
   * must always go with the same SQL); PGlite runs it unprepared.
   */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], opts?: { name?: string }): Promise<R[]>
  /** The factory the migrator needs. */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory
  /**
   * Runs `fn` while holding a cluster-wide lock named by `key` (a PostgreSQL advisory lock held
   * on one connection; in embedded mode the data-folder lock already makes the process alone).
   */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined
  dataDir: string
  poolSize: number
  /** Seconds to wait for PostgreSQL to accept connections (DATABASE_WAIT); default 0. */
  waitSeconds?: number
  log?: WaitLogger
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts) : openPglite(opts.dataDir, opts.log)
}

async function openPostgres(opts: DatabaseOptions): Promise<Database> {
  const url = opts.databaseUrl!
  // A server that does not answer (a network partition, not a refusal) fails a request after
  // 10 s (connecting, or waiting for a pooled connection) with a 503 instead of holding it until
  // the client gives up.
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 })
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query gets a fresh connection.
  pool.on('error', () => {})
  try {
    await waitForPostgres(pool, url, opts.waitSeconds ?? 0, opts.log)
  } catch (err) {
    await pool.end().catch(() => {})
    throw err
  }
  const adapterFactory = new PrismaPg(pool)
  const prisma = new PrismaClient({ adapter: adapterFactory })
  return {
    kind: 'postgres',
    prisma,
    adapterFactory,
    async query<R>(sql: string, params: unknown[] = [], opts: { name?: string } = {}) {
      return (await pool.query(opts.name ? { name: opts.name, text: sql, values: params } : { text: sql, values: params })).rows as R[]
    },
    async withLock(key, fn) {
      const client = await pool.connect()
      try {
        await client.query('select pg_advisory_lock($1)', [key])
        try {
          return await fn()
        } finally {
          await client.query('select pg_advisory_unlock($1)', [key])
        }
      } finally {
        client.release()
      }
    },
    async close() {
      await prisma.$disconnect()
      await pool.end()
    },
  }
}

async function openPglite(dataDir: string, log?: WaitLogger): Promise<Database> {
  mkdirSync(dataDir, { recursive: true })
  const lock = await lockDataDir(dataDir, (err) => {
    // Not fatal by itself (nobody may want the folder), but another process could now open it.
    log?.warn({ err: { message: err.message } }, 'the data folder lock was lost: it could not be refreshed; another wirehub could now open the folder')
  })
  let client: PGlite
  try {
    client = await PGlite.create(join(dataDir, 'pglite'))
  } catch (err) {
    await lock.release()
    // A full disk or a read-only folder: PGlite throws a bare {name:'ErrnoError', errno} object.
    throw dataDirFailure(dataDir, err) ?? (err instanceof Error ? err : new StartupError(`the embedded database in ${dataDir} could not be opened: ${JSON.stringify(err)}`, 74))
  }
  const adapterFactory = fixPgliteAdapterFactory(new PrismaPGlite(client))
  const prisma = new PrismaClient({ adapter: adapterFactory })
  return {
    kind: 'pglite',
    prisma,
    adapterFactory,
    async query<R>(sql: string, params: unknown[] = []) {
      return (await client.query<R>(sql, params)).rows
    },
    withLock: (_key, fn) => fn(),
    async close() {
      await prisma.$disconnect()
      await client.close()
      await lock.release()
    },
  }
}
