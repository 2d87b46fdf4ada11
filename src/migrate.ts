/**
 * `npm run db:migrate` (`node dist/migrate.js` in the image): applies pending migrations from prisma/migrations, like
 * `prisma migrate deploy` (which cannot run here: it needs a native engine download).
 *
 * Target: DATABASE_URL (PostgreSQL) when set, otherwise the embedded PGlite database in
 * `${DATA_DIR:-./data}/pglite`, taken under the same data-folder lock as the server, so it refuses
 * to run while a server uses that folder. Values come from the environment, then `.env`.
 * Prints what was applied; exits 0 on success, 1 on failure.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseDotenv } from 'dotenv'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import { applyMigrations, type MigrationLogger } from './db/migrator.js'
import { lockDataDir } from './db/data-dir-lock.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function setting(name: string): string | undefined {
  const fromEnv = process.env[name]
  if (fromEnv) return fromEnv
  try {
    const value = parseDotenv(readFileSync(join(process.cwd(), '.env')))[name]
    return value || undefined
  } catch {
    return undefined
  }
}

const log: MigrationLogger = {
  info: (_obj, msg) => console.log(msg ?? ''),
  warn: (obj, msg) => console.warn(`warning: ${msg ?? ''}`, obj),
  // applyMigrations rejects after logging; main() prints the error once.
  error: () => {},
}

async function main(): Promise<number> {
  const started = performance.now()
  const options = {
    migrationsDir: join(root, 'prisma', 'migrations'),
    schemaPath: join(root, 'prisma', 'schema.prisma'),
    log,
  }
  const url = setting('DATABASE_URL')
  let result: { applied: string[] }
  if (url) {
    console.log(`migrating PostgreSQL at ${redact(url)}`)
    result = await applyMigrations({ ...options, adapterFactory: new PrismaPg({ connectionString: url }) })
  } else {
    const dataDir = resolve(setting('DATA_DIR') ?? './data')
    mkdirSync(dataDir, { recursive: true })
    const lock = await lockDataDir(dataDir)
    try {
      const dbDir = join(dataDir, 'pglite')
      console.log(`migrating embedded PGlite at ${dbDir}`)
      const db = await PGlite.create(dbDir)
      try {
        result = await applyMigrations({ ...options, adapterFactory: new PrismaPGlite(db) })
      } finally {
        await db.close()
      }
    } finally {
      await lock.release()
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  if (result.applied.length === 0) console.log(`no pending migrations (${seconds}s)`)
  else for (const name of result.applied) console.log(`applied ${name}`)
  if (result.applied.length > 0) console.log(`done: ${result.applied.length} migration(s) in ${seconds}s`)
  return 0
}

function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable DATABASE_URL)'
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
