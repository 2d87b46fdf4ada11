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
import { lockDataDir } from './data-dir-lock.js'
import { fixPgliteAdapterFactory } from './pglite-adapter.js'

export type Prisma = InstanceType<typeof PrismaClient>

export interface Database {
  kind: 'postgres' | 'pglite'
  prisma: Prisma
  /** Raw parameterised SQL for hot paths; rows come back as plain objects. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>
  /** The factory the migrator needs. */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory
  close(): Promise<void>
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined
  dataDir: string
  poolSize: number
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize) : openPglite(opts.dataDir)
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 30_000 })
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query gets a fresh connection.
  pool.on('error', () => {})
  const adapterFactory = new PrismaPg(pool)
  const prisma = new PrismaClient({ adapter: adapterFactory })
  return {
    kind: 'postgres',
    prisma,
    adapterFactory,
    async query<R>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as R[]
    },
    async close() {
      await prisma.$disconnect()
      await pool.end()
    },
  }
}

async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true })
  const release = lockDataDir(dataDir)
  let client: PGlite
  try {
    client = await PGlite.create(join(dataDir, 'pglite'))
  } catch (err) {
    release()
    throw err
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
    async close() {
      await prisma.$disconnect()
      await client.close()
      release()
    },
  }
}
