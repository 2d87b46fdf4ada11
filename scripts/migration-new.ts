/**
 * `npm run db:migration:new -- <name>`: writes the next migration, like
 * `prisma migrate dev --create-only` (which cannot run here: it needs a native engine download).
 *
 * The previous state is the migrations folder itself: every existing migration is replayed on a
 * throwaway in-memory PGlite and the result is diffed against prisma/schema.prisma, so the new
 * migration is exactly what the committed history lacks (hand edits to old migrations included).
 * Writes prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql (UTC timestamp) only when the
 * diff is non-empty, and migration_lock.toml when missing; prints "no changes" otherwise.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  MIGRATION_LOCK_CONTENT,
  MIGRATION_LOCK_FILE,
  diffMigrationsToSchema,
  isEmptyMigrationScript,
  readMigrationsDir,
} from '../src/db/migrator.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const migrationsDir = join(root, 'prisma', 'migrations')
const schemaPath = join(root, 'prisma', 'schema.prisma')

/** Same normalisation as the Prisma CLI: lower-case words joined by `_`, at most 200 chars. */
function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200)
}

function utcTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--')
  const name = slug(args.join(' '))
  if (!name) {
    console.error('usage: npm run db:migration:new -- <name>')
    return 1
  }

  const started = performance.now()
  const schema = await readFile(schemaPath, 'utf8')
  const sql = await diffMigrationsToSchema(migrationsDir, schema)
  if (isEmptyMigrationScript(sql)) {
    console.log('no changes: prisma/schema.prisma matches the existing migrations')
    return 0
  }

  const existing = (await readMigrationsDir(migrationsDir)).migrationDirectories.map((d) => d.path)
  const folder = `${utcTimestamp(new Date())}_${name}`
  const latest = existing.at(-1)
  if (latest !== undefined && folder.localeCompare(latest) <= 0) {
    console.error(`refusing to write ${folder}: it would not sort after the latest migration ${latest}`)
    return 1
  }
  const dir = join(migrationsDir, folder)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'migration.sql'), sql)
  const lockPath = join(migrationsDir, MIGRATION_LOCK_FILE)
  if (!existsSync(lockPath)) {
    await writeFile(lockPath, MIGRATION_LOCK_CONTENT)
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`wrote ${relative(root, join(dir, 'migration.sql'))} (${seconds}s)`)
  console.log('review it, then apply with: npm run db:migrate')
  return 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
