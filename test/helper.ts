/**
 * Builds the real app for a test on a fresh PostgreSQL database and tears it down afterwards.
 * Each test file gets its own database cloned from a template that holds the committed
 * migrations (built once per migration set, under an advisory lock so parallel test files do
 * not race), so a database costs ~100 ms instead of a full migration run.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/config.js'
import type { Config } from '../src/config/config.schema.js'
import { openDatabase } from '../src/db/database.js'
import { applyMigrations } from '../src/db/migrator.js'
import { MIGRATIONS_DIR, SCHEMA_PATH } from '../src/plugins/infra/database.js'

export const ADMIN_EMAIL = 'admin@example.test'
export const ADMIN_PASSWORD = 'correct horse battery staple'
/** A fixed, well-formed application key for the bootstrap admin. */
export const ADMIN_API_KEY = 'wha_TestAdminKey' + 'A'.repeat(32)

const ROOT_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** The part of tap's Test the helpers use (so they take any test or subtest). */
export interface TapLike {
  teardown(fn: () => unknown): void
}

function migrationsHash(): string {
  const h = createHash('sha256')
  for (const dir of readdirSync(MIGRATIONS_DIR).sort()) {
    if (dir.endsWith('.toml')) continue
    h.update(dir).update(readFileSync(join(MIGRATIONS_DIR, dir, 'migration.sql')))
  }
  return h.digest('hex').slice(0, 12)
}

function urlFor(db: string): string {
  const u = new URL(ROOT_URL)
  u.pathname = `/${db}`
  return u.toString()
}

async function withRoot<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ROOT_URL })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

async function ensureTemplate(): Promise<string> {
  const name = `wirehub_tpl_${migrationsHash()}`
  await withRoot(async (c) => {
    await c.query('select pg_advisory_lock(4242)')
    try {
      const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [name])
      if (rowCount) return
      await c.query(`create database "${name}_build"`)
      const db = await openDatabase({ databaseUrl: urlFor(`${name}_build`), dataDir: tmpdir(), poolSize: 2 })
      try {
        await applyMigrations({
          adapterFactory: db.adapterFactory,
          migrationsDir: MIGRATIONS_DIR,
          schemaPath: SCHEMA_PATH,
          log: { info() {}, warn() {}, error() {} },
        })
      } finally {
        await db.close()
      }
      await c.query(`alter database "${name}_build" rename to "${name}"`)
    } finally {
      await c.query('select pg_advisory_unlock(4242)')
    }
  })
  return name
}

/** Creates a fresh database for one test file and returns its URL; dropped at teardown. */
export async function freshDatabase(t: TapLike): Promise<string> {
  const template = await ensureTemplate()
  const name = `wirehub_test_${process.pid}_${randomBytes(4).toString('hex')}`
  await withRoot((c) => c.query(`create database "${name}" template "${template}"`))
  t.teardown(() => withRoot((c) => c.query(`drop database if exists "${name}" with (force)`)))
  return urlFor(name)
}

export interface TestAppOptions {
  env?: Record<string, string>
  /** Run on embedded PGlite in a temporary data folder instead of PostgreSQL. */
  embedded?: boolean
  listen?: boolean
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** `http://127.0.0.1:<port>` when listening. */
  url: string
  adminKey: string
}

/** Builds the app with a bootstrap admin (ADMIN_* above) and closes it at teardown. */
export async function build(t: TapLike, opts: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-test-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env: Record<string, string> = {
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ADMIN_API_KEY,
    SOCKET_TOKEN_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    // Port 1883 belongs to the machine's Mosquitto; MQTT tests turn the broker on with port 0.
    MQTT_ENABLED: 'false',
    // Games outlive wirehub by default; a test's app must not leave them running.
    SERVERS_STOP_ON_SHUTDOWN: 'true',
    ...opts.env,
  }
  if (!opts.embedded && !env.DATABASE_URL) env.DATABASE_URL = await freshDatabase(t)
  const config = loadConfig({ env, dotenv: false })
  const app = await buildApp(config, { logger: env.LOG_LEVEL === 'silent' ? false : undefined })
  t.teardown(() => app.close())
  let url = ''
  if (opts.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const addr = app.server.address()
    if (addr && typeof addr === 'object') url = `http://127.0.0.1:${addr.port}`
    if (!env.PUBLIC_URL) config.publicUrl = url
  } else {
    await app.ready()
  }
  return { app, config, url, adminKey: ADMIN_API_KEY }
}

export function bearer(key: string) {
  return { authorization: `Bearer ${key}` }
}
