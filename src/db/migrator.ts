/**
 * Database migrations without the Prisma CLI: applies `prisma/migrations/<name>/migration.sql`
 * through Prisma's wasm schema engine and records them in `_prisma_migrations` exactly as
 * `prisma migrate deploy` does, so a machine with the normal CLI can take over the same folder and
 * database. Also computes migration SQL (schema → schema, migrations → schema, database → schema)
 * for `scripts/migration-new.ts` and the tests.
 *
 * Works on PostgreSQL (`@prisma/adapter-pg`) and embedded PGlite (`pglite-prisma-adapter`). Each
 * adapter gets a fix before the engine sees it:
 *  - PGlite: `executeScript` must await and report SQL errors (see ./pglite-adapter.ts);
 *  - adapter-pg: its `executeScript` splits scripts on every `;` (breaking `;` inside strings,
 *    `$$` bodies and comments) and runs the pieces one by one, so a failing migration is left half
 *    applied; and its pool spreads the engine's session-level advisory lock and unlock over
 *    different connections. The migrator therefore runs on one dedicated connection built from the
 *    factory's pool settings and sends each script whole, as the native engine does (one simple
 *    query: Postgres runs it as one implicit transaction).
 * The engine never disposes the adapters it opens; the migrator does, when the command is done.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils'
import type pg from 'pg'
import { isUnmanagedTable } from './unmanaged-tables.js'
import { fixPgliteAdapterFactory, isPgliteAdapterFactory, toDriverAdapterError } from './pglite-adapter.js'
import {
  SchemaEngineError,
  WasmSchemaEngine,
  type DiffTarget,
  type EngineLogger,
  type MigrationDirectory,
  type MigrationList,
} from './schema-engine.js'

export const MIGRATION_LOCK_FILE = 'migration_lock.toml'
/** What `prisma migrate` writes into migration_lock.toml for PostgreSQL. */
export const MIGRATION_LOCK_CONTENT = 'provider = "postgresql"\n'
const MIGRATION_FILE = 'migration.sql'
/** Schema file name the engine reports in diagnostics when we pass schema text. */
const SCHEMA_FILE = 'schema.prisma'

/** pino-compatible logger; `debug` (optional) receives the engine's own step-by-step lines. */
export interface MigrationLogger {
  debug?(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** A migration command failed. `code` is Prisma's (P3018: a migration script failed; P3009: a
 * failed migration from an earlier run blocks new ones; P3005: non-empty database without
 * migration history). `migration` names the failing migration when the engine says which. */
export class MigrationError extends Error {
  readonly code: string | undefined
  readonly migration: string | undefined
  constructor(message: string, code: string | undefined, migration: string | undefined, cause: unknown) {
    super(message, { cause })
    this.name = 'MigrationError'
    this.code = code
    this.migration = migration
  }
}

/** The engine's span trace ("   0: sql_schema_connector::…") follows the message proper. */
function withoutSpanTrace(text: string): string {
  const lines = text.split('\n')
  const cut = lines.findIndex((line) => /^\s*\d+: \S/.test(line))
  const kept = (cut === -1 ? lines : lines.slice(0, cut)).map((l) => l.trim()).filter(Boolean)
  // "external connector error" only says the adapter raised it; the next line says what.
  if (kept.length > 1 && kept[0] === 'external connector error') kept.shift()
  return kept.join('\n')
}

function toMigrationError(err: unknown, what: string): MigrationError {
  if (err instanceof MigrationError) return err
  const detail = err instanceof Error ? err.message : String(err)
  const migration = /Migration name: (\S+)/.exec(detail)?.[1] ?? /migration_name="([^"]+)"/.exec(detail)?.[1]
  // The wasm engine reports a failing migration script without the CLI's P3018 wrapper; it is
  // the same situation, so give it the same code.
  const code = (err instanceof SchemaEngineError ? err.code : undefined) ?? (migration ? 'P3018' : undefined)
  const head = migration ? `${what}: migration \`${migration}\` failed` : `${what} failed`
  return new MigrationError(`${head}${code ? ` (${code})` : ''}: ${withoutSpanTrace(detail)}`, code, migration, err)
}

const silentLogger: MigrationLogger = { info() {}, warn() {}, error() {} }

// ---------------------------------------------------------------------------------------------
// The migrations folder

/**
 * Reads the migrations folder the way the Prisma CLI does: every sub-folder is a migration (sorted
 * by name) whose script is `migration.sql`; an unreadable script is passed on as an error for the
 * engine to report. A missing folder means no migrations.
 */
export async function readMigrationsDir(migrationsDir: string): Promise<MigrationList> {
  const baseDir = resolve(migrationsDir)
  const lockContent = await readFile(join(baseDir, MIGRATION_LOCK_FILE), 'utf8').catch(() => null)
  let names: string[] = []
  try {
    names = (await readdir(baseDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  names.sort((a, b) => a.localeCompare(b))
  const migrationDirectories: MigrationDirectory[] = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: MIGRATION_FILE,
        content: await readFile(join(baseDir, name, MIGRATION_FILE), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (err: unknown) => ({ tag: 'error' as const, value: err instanceof Error ? err.message : String(err) }),
        ),
      },
    })),
  )
  return {
    baseDir,
    lockfile: { path: MIGRATION_LOCK_FILE, content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  }
}

/**
 * The script without the statements that concern only tables wirehub manages outside Prisma
 * (src/db/unmanaged-tables.ts): the engine, comparing with schema.prisma, proposes to drop them.
 * The engine separates statements with blank lines; a block is left out when every table (or
 * index of a table) it names is unmanaged.
 */
export function withoutUnmanaged(sql: string): string {
  const blocks = sql.split(/\n\s*\n/)
  const kept = blocks.filter((block) => {
    const names = [...block.matchAll(/\b(?:TABLE|ON|INTO|REFERENCES|INDEX)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"([^"]+)"/gi)].map((m) => m[1]!)
    if (names.length === 0) return true
    return !names.every((n) => isUnmanagedTable(n) || isUnmanagedTable(n.replace(/_[a-z0-9_]*_(idx|key|pkey|fkey)$/, '')))
  })
  return kept.join('\n\n')
}

/** Whether a migration script does nothing (only comments and whitespace). */
export function isEmptyMigrationScript(sql: string): boolean {
  return (
    sql
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/--[^\n]*/g, '')
      .trim() === ''
  )
}

// ---------------------------------------------------------------------------------------------
// Adapter preparation

type Disposer = () => Promise<void>

/** Makes `dispose` idempotent and remembers undisposed adapters so the migrator can close them. */
function tracker() {
  const open = new Set<Disposer>()
  const track = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const original = adapter.dispose.bind(adapter)
    let done: Promise<void> | undefined
    const dispose: Disposer = () => {
      open.delete(dispose)
      done ??= original()
      return done
    }
    Object.defineProperty(adapter, 'dispose', { configurable: true, writable: true, value: dispose })
    open.add(dispose)
    return adapter
  }
  const disposeAll = async (log: MigrationLogger): Promise<void> => {
    const results = await Promise.allSettled([...open].map((d) => d()))
    for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason }, 'closing a migration connection failed')
  }
  return { track, disposeAll }
}

function hasShadowDb(factory: SqlDriverAdapterFactory): factory is SqlMigrationAwareDriverAdapterFactory {
  return typeof (factory as Partial<SqlMigrationAwareDriverAdapterFactory>).connectToShadowDb === 'function'
}

/** What a PrismaPg adapter exposes beyond SqlDriverAdapter (public in its d.ts). */
interface PgAdapterLike extends SqlDriverAdapter {
  underlyingDriver(): pg.Pool
}

function isPgAdapter(adapter: SqlDriverAdapter): adapter is PgAdapterLike {
  return typeof (adapter as Partial<PgAdapterLike>).underlyingDriver === 'function'
}

/** OIDs: Postgres' internal single-byte `"char"` type, and `text`. */
const PG_CHAR_OID = 18
const PG_TEXT_OID = 25

/**
 * adapter-pg 7.10 dropped the mapping of the internal `"char"` type (pg_class.relkind,
 * pg_constraint.contype…) and rejects such columns as unsupported, which breaks the engine's
 * introspection of a live database ("Column type 'char' could not be deserialized"). pg already
 * returns those values as one-character strings; relabel the columns as text on the migrator's
 * own pool so the adapter passes them through (the engine reads them as text).
 */
function reportCharColumnsAsText(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (config: pg.QueryConfig) => Promise<pg.QueryResult>
  const relabel = (result: pg.QueryResult): pg.QueryResult => {
    for (const field of result.fields ?? []) if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID
    return result
  }
  Object.defineProperty(pool, 'query', {
    configurable: true,
    writable: true,
    // adapter-pg only calls query(config) and awaits the promise; the script runner calls
    // query(text). Both return promises, which is all this wrapper supports.
    value: (config: pg.QueryConfig) => query(config).then(relabel),
  })
}

/**
 * For adapter-pg: one dedicated connection (a pool of max 1 with the factory pool's settings, so
 * lock, scripts and unlock share a session) and whole-script execution. Falls back to the
 * factory's own adapter if it does not look like adapter-pg 7.x.
 */
async function connectPgForMigrations(factory: SqlDriverAdapterFactory, log: MigrationLogger): Promise<SqlDriverAdapter> {
  const base = await factory.connect()
  if (!isPgAdapter(base)) {
    log.warn({ adapter: factory.adapterName }, 'unexpected adapter-pg shape: migrating through its own adapter')
    return base
  }
  const options = base.underlyingDriver().options
  // Releases nothing the app uses: an app-owned (external) pool only loses the adapter's listener.
  await base.dispose()
  // pg keeps `password` non-enumerable on the options object, so spread alone would drop it.
  const config: pg.PoolConfig = { ...options, password: options.password, max: 1, min: 0 }
  const adapter = await new PrismaPg(config).connect()
  const pool = adapter.underlyingDriver()
  reportCharColumnsAsText(pool)
  Object.defineProperty(adapter, 'executeScript', {
    configurable: true,
    writable: true,
    value: async (script: string): Promise<void> => {
      try {
        await pool.query(script)
      } catch (err) {
        throw toDriverAdapterError(err)
      }
    },
  })
  return adapter
}

/**
 * Wraps any supported factory for the engine: adapter fixes, shadow databases refused unless the
 * factory can make them, and every adapter tracked for disposal.
 */
function prepareFactory(factory: SqlDriverAdapterFactory, log: MigrationLogger) {
  const { track, disposeAll } = tracker()
  let inner: SqlDriverAdapterFactory = factory
  let connect = () => inner.connect()
  if (isPgliteAdapterFactory(factory) && hasShadowDb(factory)) {
    inner = fixPgliteAdapterFactory(factory)
  } else if (factory.adapterName === '@prisma/adapter-pg') {
    connect = () => connectPgForMigrations(factory, log)
  }
  const prepared: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => track(await connect()),
    connectToShadowDb: async () => {
      if (!hasShadowDb(inner)) throw new Error(`${factory.adapterName} cannot create a shadow database`)
      return track(await inner.connectToShadowDb())
    },
  }
  return { factory: prepared, disposeAll: () => disposeAll(log) }
}

/** Runs `fn` on an engine over `factory`, then frees the engine and closes its connections. */
async function withEngine<T>(
  factory: SqlDriverAdapterFactory,
  opts: { datamodels?: [string, string][]; log: MigrationLogger },
  fn: (engine: WasmSchemaEngine) => Promise<T>,
): Promise<T> {
  const prepared = prepareFactory(factory, opts.log)
  let engine: WasmSchemaEngine | undefined
  try {
    const engineLog: EngineLogger = opts.log
    engine = await WasmSchemaEngine.start({ adapterFactory: prepared.factory, datamodels: opts.datamodels, log: engineLog })
    return await fn(engine)
  } finally {
    engine?.free()
    await prepared.disposeAll()
  }
}

/** A dump of a freshly initialised empty cluster: loading it (~0.4 s) skips initdb (~2 s). */
let emptyCluster: Promise<Blob> | undefined

async function throwawayPglite(): Promise<PGlite> {
  if (!emptyCluster) {
    const first = await PGlite.create()
    emptyCluster = first.dumpDataDir('none')
    await emptyCluster
    return first
  }
  return PGlite.create({ loadDataDir: await emptyCluster })
}

/**
 * Runs `fn` on an engine over a throwaway in-memory PGlite (about 2 s to create). The same
 * database also serves as the engine's shadow database (used when diffing from migrations).
 */
async function withThrowawayEngine<T>(fn: (engine: WasmSchemaEngine) => Promise<T>): Promise<T> {
  const db = await throwawayPglite()
  try {
    const fixed = fixPgliteAdapterFactory(new PrismaPGlite(db))
    const factory: SqlMigrationAwareDriverAdapterFactory = {
      provider: fixed.provider,
      adapterName: fixed.adapterName,
      connect: () => fixed.connect(),
      connectToShadowDb: () => fixed.connect(),
    }
    return await withEngine(factory, { log: silentLogger }, fn)
  } finally {
    await db.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface ApplyMigrationsOptions {
  /** The database's adapter factory: `new PrismaPg(...)` or `new PrismaPGlite(pglite)` (fixed or not). */
  adapterFactory: SqlDriverAdapterFactory
  /** Folder with `<name>/migration.sql` sub-folders and migration_lock.toml. */
  migrationsDir: string
  /** prisma/schema.prisma (read for datasource settings). */
  schemaPath: string
  log: MigrationLogger
}

/**
 * `prisma migrate deploy`: applies the migrations the database has not seen, in name order,
 * recording each in `_prisma_migrations`. Rejects with a MigrationError if one fails (it is then
 * recorded as failed and later runs refuse to continue until it is resolved, as with the CLI).
 */
export async function applyMigrations(opts: ApplyMigrationsOptions): Promise<{ applied: string[] }> {
  const { log } = opts
  const started = performance.now()
  try {
    const list = await readMigrationsDir(opts.migrationsDir)
    if (list.lockfile.content === null) {
      log.warn({ migrationsDir: list.baseDir }, `${MIGRATION_LOCK_FILE} is missing from the migrations folder`)
    }
    const schemaText = await readFile(opts.schemaPath, 'utf8')
    const output = await withEngine(
      opts.adapterFactory,
      { datamodels: [[resolve(opts.schemaPath), schemaText]], log },
      (engine) => engine.applyMigrations(list),
    )
    const applied = output.appliedMigrationNames
    const ms = Math.round(performance.now() - started)
    if (applied.length > 0) log.info({ applied, ms }, `applied ${applied.length} database migration(s)`)
    else log.info({ migrations: list.migrationDirectories.length, ms }, 'database schema is up to date')
    return { applied }
  } catch (err) {
    const error = toMigrationError(err, 'applying database migrations')
    log.error({ err: error, code: error.code, migration: error.migration }, 'database migration failed')
    throw error
  }
}

function datamodelTarget(schemaText: string): DiffTarget {
  return { tag: 'schemaDatamodel', files: [{ path: SCHEMA_FILE, content: schemaText }] }
}

/**
 * SQL that takes a database shaped by `fromSchemaText` (null: an empty database) to
 * `toSchemaText`. Schema text against schema text; runs on a throwaway in-memory PGlite.
 * Returns the engine's script; check it with isEmptyMigrationScript.
 */
export async function diffSchemas(fromSchemaText: string | null, toSchemaText: string): Promise<string> {
  try {
    return await withThrowawayEngine((engine) =>
      engine.diffScript(fromSchemaText === null ? { tag: 'empty' } : datamodelTarget(fromSchemaText), datamodelTarget(toSchemaText)),
    )
  } catch (err) {
    throw toMigrationError(err, 'diffing schemas')
  }
}

/**
 * SQL that takes a database with all migrations of `migrationsDir` applied to `schemaText`:
 * the next migration (`prisma migrate diff --from-migrations --to-schema`). The migrations are
 * replayed on a throwaway in-memory PGlite, so a broken migration fails here too.
 */
export async function diffMigrationsToSchema(migrationsDir: string, schemaText: string): Promise<string> {
  try {
    const list = await readMigrationsDir(migrationsDir)
    // The engine reads the provider from the lockfile; a folder without one is a PostgreSQL one.
    const lockfile = { ...list.lockfile, content: list.lockfile.content ?? MIGRATION_LOCK_CONTENT }
    return withoutUnmanaged(
      await withThrowawayEngine((engine) => engine.diffScript({ tag: 'migrations', ...list, lockfile }, datamodelTarget(schemaText))),
    )
  } catch (err) {
    throw toMigrationError(err, 'diffing migrations against the schema')
  }
}

/**
 * SQL that takes the live database behind `adapterFactory` to `schemaText` (drift check:
 * empty when the database matches the schema). `_prisma_migrations` is ignored.
 */
export async function diffDatabaseToSchema(
  adapterFactory: SqlDriverAdapterFactory,
  schemaText: string,
  log: MigrationLogger = silentLogger,
): Promise<string> {
  try {
    return withoutUnmanaged(
      await withEngine(adapterFactory, { log }, (engine) =>
        engine.diffScript(
          { tag: 'schemaDatasource', files: [{ path: SCHEMA_FILE, content: schemaText }], configDir: process.cwd() },
          datamodelTarget(schemaText),
        ),
      ),
    )
  } catch (err) {
    throw toMigrationError(err, 'diffing the database against the schema')
  }
}
