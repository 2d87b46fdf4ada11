/**
 * The migration tooling (src/db/migrator.ts) on embedded PGlite and real PostgreSQL:
 *  - the committed migrations produce exactly prisma/schema.prisma (empty diff), except the
 *    tables wirehub manages outside Prisma (src/db/unmanaged-tables.ts: partitioned telemetry
 *    and its rollups), which the diff leaves out — and only those: other drift still shows;
 *  - applying twice applies nothing the second time;
 *  - scripts with `;` inside strings and `$$` bodies run whole;
 *  - a broken migration rejects with a clear MigrationError, is recorded as failed in
 *    `_prisma_migrations`, blocks later runs (P3009), and never leaks an unhandled rejection.
 */
import { cp, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import {
  MigrationError,
  applyMigrations,
  diffDatabaseToSchema,
  diffMigrationsToSchema,
  diffSchemas,
  isEmptyMigrationScript,
  withoutUnmanaged,
  type MigrationLogger,
} from '../../src/db/migrator.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const MIGRATIONS_DIR = join(root, 'prisma', 'migrations')
const SCHEMA_PATH = join(root, 'prisma', 'schema.prisma')

/** The key of `SELECT pg_advisory_lock(72707369)`, which the engine takes around migrations. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
process.on('unhandledRejection', onUnhandled)
t.teardown(() => {
  process.off('unhandledRejection', onUnhandled)
})

/** Collects log calls so tests can assert on them without printing. */
function memoryLog(): MigrationLogger & { lines: { level: string; msg: string | undefined }[] } {
  const lines: { level: string; msg: string | undefined }[] = []
  return {
    lines,
    info: (_o, msg) => lines.push({ level: 'info', msg }),
    warn: (_o, msg) => lines.push({ level: 'warn', msg }),
    error: (_o, msg) => lines.push({ level: 'error', msg }),
  }
}

/** A copy of the committed migrations plus extra ones, in a temp folder. */
async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wirehub-migrations-'))
  await cp(MIGRATIONS_DIR, dir, { recursive: true })
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(join(dir, name))
    await writeFile(join(dir, name, 'migration.sql'), sql)
  }
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

// Statements with `;` inside a string literal, a comment and a dollar-quoted body: a script
// runner that splits on `;` breaks on each of them.
const TRICKY = `-- a comment; with a semicolon
COMMENT ON TABLE "users" IS 'wirehub users; one row per account';
DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;
CREATE TABLE "tricky" ("id" INTEGER PRIMARY KEY, "note" TEXT NOT NULL DEFAULT 'a;b');
DROP TABLE "tricky";
`
// The first statement succeeds, the second fails: the migration must not be half applied.
const BROKEN = `CREATE TABLE "half_applied" ("id" INTEGER);
SELECT * FROM "no_such_table";
`

/** The first lines of a diff, for failure diagnostics. */
function brief(sql: string): string {
  const lines = sql.split('\n')
  return lines.length > 12 ? [...lines.slice(0, 12), `… (${lines.length - 12} more lines)`].join('\n') : sql
}

interface Queryer {
  rows<R>(sql: string): Promise<R[]>
}

type MigrationRow = { migration_name: string; finished_at: unknown; rolled_back_at: unknown; logs: string | null }

/** The checks shared by the PGlite and PostgreSQL runs. */
async function migrationSuite(
  tt: Test,
  name: string,
  freshDatabase: () => Promise<{ factory: () => SqlDriverAdapterFactory; db: Queryer }>,
): Promise<void> {
  const schema = await readFile(SCHEMA_PATH, 'utf8')

  await tt.test(`${name}: committed migrations match schema.prisma and re-applying is a no-op`, async (tt) => {
    const { factory, db } = await freshDatabase()
    const committed = (await readdirNames(MIGRATIONS_DIR)).length
    tt.ok(committed >= 1, 'there is at least one committed migration')

    const started = performance.now()
    const first = await applyMigrations({ adapterFactory: factory(), migrationsDir: MIGRATIONS_DIR, schemaPath: SCHEMA_PATH, log: memoryLog() })
    tt.comment(`${name}: fresh migrate took ${Math.round(performance.now() - started)} ms`)
    tt.equal(first.applied.length, committed, 'every committed migration is applied')

    const drift = await diffDatabaseToSchema(factory(), schema)
    tt.ok(isEmptyMigrationScript(drift), 'database after migrations == schema.prisma', { diff: brief(drift) })
    const [parted] = await db.rows<{ kind: string; parts: number }>(
      `SELECT c.relkind::text AS kind, (SELECT count(*)::int FROM pg_inherits i WHERE i.inhparent = c.oid) AS parts FROM pg_class c WHERE c.relname = 'telemetry'`,
    )
    tt.equal(parted?.kind, 'p', 'telemetry is a partitioned table')
    tt.ok((parted?.parts ?? 0) >= 5, 'with the default partition and one per day from today to three days ahead')

    const second = await applyMigrations({ adapterFactory: factory(), migrationsDir: MIGRATIONS_DIR, schemaPath: SCHEMA_PATH, log: memoryLog() })
    tt.same(second.applied, [], 'second run applies nothing')

    const rows = await db.rows<MigrationRow>('SELECT migration_name, finished_at, rolled_back_at, logs FROM _prisma_migrations')
    tt.equal(rows.length, committed, 'one _prisma_migrations row per migration')
    tt.ok(rows.every((r) => r.finished_at !== null && r.rolled_back_at === null), 'all recorded as finished')
  })

  await tt.test(`${name}: scripts run whole ( ; inside strings, comments and $$ bodies)`, async (tt) => {
    const { factory, db } = await freshDatabase()
    const dir = await migrationsWith({ '29990101000000_tricky': TRICKY })
    const { applied } = await applyMigrations({ adapterFactory: factory(), migrationsDir: dir, schemaPath: SCHEMA_PATH, log: memoryLog() })
    tt.equal(applied.at(-1), '29990101000000_tricky')
    const [row] = await db.rows<{ comment: string }>(`SELECT obj_description('"users"'::regclass, 'pg_class') AS comment`)
    tt.equal(row?.comment, 'wirehub users; one row per account')
  })

  await tt.test(`${name}: a broken migration fails cleanly and is recorded as failed`, async (tt) => {
    const { factory, db } = await freshDatabase()
    const dir = await migrationsWith({ '29990101000000_broken': BROKEN })
    const log = memoryLog()
    const err = await applyMigrations({ adapterFactory: factory(), migrationsDir: dir, schemaPath: SCHEMA_PATH, log }).then(
      () => undefined,
      (e: unknown) => e,
    )
    tt.type(err, MigrationError, 'rejects with a MigrationError')
    const me = err as MigrationError
    tt.comment(me.message)
    tt.equal(me.code, 'P3018', 'Prisma code for "a migration failed to apply"')
    tt.match(me.message, /^applying database migrations: migration `29990101000000_broken` failed \(P3018\): /, 'reads clearly')
    tt.notMatch(me.message, /sql_schema_connector::/, 'without the engine span trace')
    tt.equal(me.migration, '29990101000000_broken', 'names the failing migration')
    tt.match(me.message, /29990101000000_broken/, 'message names the migration')
    tt.match(me.message, /no_such_table/, 'message carries the database error')
    tt.ok(log.lines.some((l) => l.level === 'error'), 'the failure is logged')

    const rows = await db.rows<MigrationRow>(
      `SELECT migration_name, finished_at, rolled_back_at, logs FROM _prisma_migrations WHERE migration_name = '29990101000000_broken'`,
    )
    tt.equal(rows.length, 1, 'the failed migration is recorded')
    tt.equal(rows[0]?.finished_at, null, 'not marked finished')
    tt.match(rows[0]?.logs ?? '', /no_such_table/, 'its logs hold the error')
    const [half] = await db.rows<{ t: string | null }>(`SELECT to_regclass('public.half_applied')::text AS t`)
    tt.equal(half?.t, null, 'the failing script was rolled back as a whole')

    const again = await applyMigrations({ adapterFactory: factory(), migrationsDir: dir, schemaPath: SCHEMA_PATH, log: memoryLog() }).then(
      () => undefined,
      (e: unknown) => e,
    )
    tt.type(again, MigrationError)
    tt.equal((again as MigrationError).code, 'P3009', 'later runs refuse until the failure is resolved')

    await new Promise((r) => setTimeout(r, 50))
    tt.same(unhandled, [], 'no unhandled rejection')
  })
}

async function readdirNames(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
}

t.test('schema diffs', async (t) => {
  const schema = await readFile(SCHEMA_PATH, 'utf8')
  const fromEmpty = await diffSchemas(null, schema)
  t.match(fromEmpty, /CREATE TABLE "users"/, 'empty -> schema creates the tables')
  t.ok(isEmptyMigrationScript(await diffSchemas(schema, schema)), 'schema -> same schema is empty')
  const changed = schema.replace(/model User \{/, 'model User {\n  nickname String?')
  t.match(await diffSchemas(schema, changed), /ALTER TABLE "users" ADD COLUMN\s+"nickname" TEXT/, 'an added field becomes ALTER TABLE')
  const pending = await diffMigrationsToSchema(MIGRATIONS_DIR, schema)
  t.ok(isEmptyMigrationScript(pending), 'committed migrations cover schema.prisma (else: npm run db:migration:new -- <name>)', {
    pending: brief(pending),
  })
  await t.rejects(diffSchemas(null, 'model Broken {'), MigrationError, 'an invalid schema rejects')
})

t.test('the drift check leaves out unmanaged tables, and only them', async (t) => {
  const script = [
    '-- DropTable\nDROP TABLE "telemetry";',
    '-- DropTable\nDROP TABLE "telemetry_1m";',
    '-- DropIndex\nDROP INDEX "telemetry_1h_bucket_idx";',
    '-- DropTable\nDROP TABLE "telemetry_p20261202";',
    '-- DropTable\nDROP TABLE "users";',
    '-- AlterTable\nALTER TABLE "devices" ADD COLUMN "x" INTEGER;',
    '-- CreateTable\nCREATE TABLE "telemetry_notes" ("id" INTEGER);',
  ].join('\n\n')
  const kept = withoutUnmanaged(script)
  t.notMatch(kept, /"telemetry"|"telemetry_1m"|telemetry_1h_bucket_idx|telemetry_p20261202/, 'unmanaged tables are left out')
  t.match(kept, /DROP TABLE "users"/, 'a managed table still shows')
  t.match(kept, /ALTER TABLE "devices"/, 'a managed change still shows')
  t.match(kept, /"telemetry_notes"/, 'a table merely named like telemetry is not unmanaged')
})

t.test('PGlite', async (t) => {
  const open: PGlite[] = []
  t.teardown(async () => {
    for (const db of open) await db.close()
  })
  await migrationSuite(t, 'PGlite', async () => {
    const db = await PGlite.create()
    open.push(db)
    return {
      // A fresh, unfixed factory each time: the migrator must fix it itself.
      factory: () => new PrismaPGlite(db),
      db: { rows: async <R>(sql: string) => (await db.query<R>(sql)).rows },
    }
  })
})

/** Finds a role that can log in (`postgres`, else `root`) on the local server. */
async function adminUrl(): Promise<string | undefined> {
  const candidates = process.env.TEST_DATABASE_URL
    ? [process.env.TEST_DATABASE_URL]
    : ['postgres://postgres@127.0.0.1:5432/postgres', 'postgres://root@127.0.0.1:5432/postgres']
  for (const url of candidates) {
    const c = new pg.Client({ connectionString: url })
    try {
      await c.connect()
      await c.query('SELECT 1')
      return url
    } catch {
      // try the next role
    } finally {
      await c.end().catch(() => {})
    }
  }
  return undefined
}

t.test('PostgreSQL', async (t) => {
  const admin = await adminUrl()
  if (!admin) {
    t.fail('no PostgreSQL reachable on 127.0.0.1:5432 as postgres or root')
    return
  }
  const created: string[] = []
  const pools: pg.Pool[] = []
  t.teardown(async () => {
    for (const p of pools) await p.end()
    const c = new pg.Client({ connectionString: admin })
    await c.connect()
    for (const name of created) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await c.end()
  })

  await migrationSuite(t, 'PostgreSQL', async () => {
    const name = `wirehub_migtest_${process.pid}_${Date.now()}_${created.length}`
    const c = new pg.Client({ connectionString: admin })
    await c.connect()
    await c.query(`CREATE DATABASE "${name}"`)
    await c.end()
    created.push(name)
    const url = new URL(admin)
    url.pathname = `/${name}`
    const pool = new pg.Pool({ connectionString: url.toString(), max: 4 })
    pools.push(pool)
    return {
      // Alternate both ways the app may build the factory: its own pool, and a connection string.
      factory: () => (created.length % 2 === 0 ? new PrismaPg(pool) : new PrismaPg({ connectionString: url.toString() })),
      db: { rows: async <R>(sql: string) => (await pool.query(sql)).rows as R[] },
    }
  })

  await t.test('PostgreSQL: no advisory lock is left behind on an app-owned pool', async (tt) => {
    const name = created.at(-1)
    if (!name) return tt.fail('no database')
    const url = new URL(admin)
    url.pathname = `/${name}`
    const pool = new pg.Pool({ connectionString: url.toString(), max: 4 })
    pools.push(pool)
    const dir = await migrationsWith({})
    await applyMigrations({ adapterFactory: new PrismaPg(pool), migrationsDir: dir, schemaPath: SCHEMA_PATH, log: memoryLog() }).catch(
      () => undefined, // this database holds the failed migration from the previous test; only locks matter here
    )
    // pg_locks is cluster-wide: look only at Prisma's migration lock key in this database.
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND objid = ${PRISMA_MIGRATE_LOCK_KEY}
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    )
    tt.equal(rows[0]?.n, 0, 'the engine lock was released on the connection that took it')
    tt.equal(pool.totalCount <= 4, true, 'the app pool is still usable')
  })
})
