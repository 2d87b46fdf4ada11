/**
 * Fixes for the PGlite Prisma driver adapter (`pglite-prisma-adapter` 0.7.2) so it can run
 * migrations as well as queries.
 *
 * Its `executeScript` calls `client.exec(script)` without awaiting it: the schema engine sees
 * every migration script succeed (a failing one is recorded as finished) and the SQL error then
 * surfaces as an unhandled rejection that kills the process. `fixPgliteAdapterFactory` wraps the
 * factory so `executeScript` awaits `exec` and reports SQL errors as driver-adapter errors, which
 * the engine records as a failed migration exactly as with a native connection. Everything else
 * (queries, transactions) is the adapter's own code, so the fixed factory also serves PrismaClient.
 *
 * It also replaces `connectToShadowDb`, which opened an in-memory PGlite per call and never closed
 * it, with one that closes the throwaway database when the engine disposes the connection.
 */
import { PGlite } from '@electric-sql/pglite'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils'

/** Marks factories (and adapters) already wrapped, so wrapping twice is harmless. */
const FIXED = Symbol.for('wirehub.pgliteAdapterFixed')

/** Fields Postgres (and PGlite, which speaks the same protocol) put on a server error. */
interface PostgresServerError {
  message: string
  code: string
  severity?: string | undefined
  detail?: string | undefined
  hint?: string | undefined
  column?: string | undefined
}

function isPostgresServerError(err: unknown): err is PostgresServerError {
  if (typeof err !== 'object' || err === null) return false
  const e = err as Record<string, unknown>
  return typeof e.message === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)
}

/**
 * Maps a Postgres server error (from `pg` or PGlite) to the driver-adapter error the engine
 * understands, keeping the SQLSTATE and the full message for the migration log. Anything else is
 * returned unchanged (the engine then reports it as a JS error).
 */
export function toDriverAdapterError(err: unknown): unknown {
  if (!isPostgresServerError(err)) return err
  return new DriverAdapterError({
    kind: 'postgres',
    code: err.code,
    severity: err.severity ?? 'ERROR',
    message: err.message,
    detail: err.detail,
    column: err.column,
    hint: err.hint,
    originalCode: err.code,
    originalMessage: err.message,
  })
}

/** The adapter's PGlite client: a field of the 0.7.x adapter classes, not part of their types. */
function pgliteClientOf(adapter: SqlDriverAdapter): Pick<PGlite, 'exec'> {
  const client = (adapter as unknown as { client?: unknown }).client
  if (typeof client !== 'object' || client === null || typeof (client as { exec?: unknown }).exec !== 'function') {
    throw new Error(
      'fixPgliteAdapterFactory: the adapter has no PGlite `client` field; pglite-prisma-adapter changed, review src/db/pglite-adapter.ts',
    )
  }
  return client as Pick<PGlite, 'exec'>
}

function fixAdapter(adapter: SqlDriverAdapter, onDispose?: () => Promise<void>): SqlDriverAdapter {
  const marked = adapter as SqlDriverAdapter & { [FIXED]?: true }
  if (marked[FIXED]) return adapter
  const client = pgliteClientOf(adapter)
  // Own properties shadow the prototype's methods; the rest of the adapter stays untouched.
  Object.defineProperty(adapter, 'executeScript', {
    configurable: true,
    writable: true,
    value: async (script: string): Promise<void> => {
      try {
        await client.exec(script)
      } catch (err) {
        throw toDriverAdapterError(err)
      }
    },
  })
  if (onDispose) {
    const dispose = adapter.dispose.bind(adapter)
    let disposed: Promise<void> | undefined
    Object.defineProperty(adapter, 'dispose', {
      configurable: true,
      writable: true,
      value: (): Promise<void> => {
        disposed ??= dispose().finally(onDispose)
        return disposed
      },
    })
  }
  Object.defineProperty(adapter, FIXED, { value: true })
  return adapter
}

/**
 * Wraps a `new PrismaPGlite(client)` factory so `executeScript` awaits and reports errors, and
 * shadow databases are closed after use. Works for PrismaClient and for the migrator.
 */
export function fixPgliteAdapterFactory(
  factory: PrismaPGlite | SqlMigrationAwareDriverAdapterFactory,
): SqlMigrationAwareDriverAdapterFactory {
  const marked = factory as SqlMigrationAwareDriverAdapterFactory & { [FIXED]?: true }
  if (marked[FIXED]) return marked
  const fixed: SqlMigrationAwareDriverAdapterFactory & { [FIXED]: true } = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    [FIXED]: true,
    async connect() {
      return fixAdapter(await factory.connect())
    },
    async connectToShadowDb() {
      const shadow = await PGlite.create()
      try {
        const adapter = await new PrismaPGlite(shadow).connect()
        return fixAdapter(adapter, () => shadow.close())
      } catch (err) {
        await shadow.close()
        throw err
      }
    },
  }
  return fixed
}

/** Whether a factory comes from pglite-prisma-adapter (the migrator fixes those automatically). */
export function isPgliteAdapterFactory(factory: { adapterName: string }): boolean {
  return factory.adapterName === 'pglite-prisma-adapter'
}
