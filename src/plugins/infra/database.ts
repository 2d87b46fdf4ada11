/**
 * Opens the database (embedded PGlite or PostgreSQL), applies pending migrations unless
 * AUTO_MIGRATE=false, and decorates `app.db` / `app.prisma`. Closed last on shutdown.
 */
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import { openDatabase, type Database, type Prisma } from '../../db/database.js'
import { applyMigrations } from '../../db/migrator.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Database
    prisma: Prisma
  }
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url))
export const SCHEMA_PATH = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url))

export default fp(
  async function databasePlugin(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'database' })
    const started = performance.now()
    const db = await openDatabase({ databaseUrl: cfg.DATABASE_URL, dataDir: cfg.DATA_DIR, poolSize: cfg.DATABASE_POOL_SIZE })
    try {
      if (cfg.AUTO_MIGRATE) {
        const { applied } = await applyMigrations({
          adapterFactory: db.adapterFactory,
          migrationsDir: MIGRATIONS_DIR,
          schemaPath: SCHEMA_PATH,
          log,
        })
        if (applied.length > 0) log.info({ applied }, 'applied %d migration(s)', applied.length)
      }
    } catch (err) {
      await db.close()
      throw err
    }
    log.info({ kind: db.kind, ms: Math.round(performance.now() - started) }, 'database ready')
    app.decorate('db', db)
    app.decorate('prisma', db.prisma)
    app.addHook('onClose', async () => {
      await db.close()
    })
  },
  { name: 'database', dependencies: ['config'] },
)
