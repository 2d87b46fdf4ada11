/** Liveness (`/health`: the process answers) and readiness (`/ready`: the database answers). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { statfs } from 'node:fs/promises'
import { buildAsyncApi } from './asyncapi.js'
import { RedisBroker } from '../realtime/redis-broker.js'

const Health = Type.Object({ status: Type.String() })
const Ready = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) })

/**
 * Probes arrive every few seconds from orchestrators and load balancers: their request lines
 * stay below info so they do not drown the log (a failed readiness check still logs a warning).
 */
const PROBE_LOG_LEVEL = 'warn'
/** Below this much free space in DATA_DIR the embedded database is reported full. */
const MIN_FREE_BYTES = 1024 * 1024
/** A write refused for full storage keeps /ready "full" this long (the disk may be freed meanwhile). */
const STORAGE_FULL_MEMORY_MS = 60_000

export const systemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * Embedded: 'full' while the data folder has less than MIN_FREE_BYTES left (it says so again
   * as soon as space is freed). PostgreSQL: 'full' while a write failed for lack of space within
   * STORAGE_FULL_MEMORY_MS, since its disk cannot be seen from here.
   */
  async function storageCheck(): Promise<'ok' | 'full'> {
    if (app.config.embedded) {
      const fs = await statfs(app.config.DATA_DIR).catch(() => null)
      if (fs) return fs.bavail * fs.bsize < MIN_FREE_BYTES ? 'full' : 'ok'
    }
    return Date.now() - app.storageFullAt < STORAGE_FULL_MEMORY_MS ? 'full' : 'ok'
  }

  app.get('/health', {
    schema: { summary: 'Liveness: the process answers', tags: ['operations'], response: { 200: Health } },
    logLevel: PROBE_LOG_LEVEL,
    config: { rateLimit: false },
    handler: async () => ({ status: 'ok' }),
  })

  app.get('/docs/asyncapi.json', {
    schema: { tags: ['operations'], summary: 'AsyncAPI 3 document of every websocket' },
    handler: async () => buildAsyncApi(app.config.publicUrl),
  })

  app.get('/ready', {
    schema: { summary: 'Readiness: the database answers and its storage is not full (503 if not); Redis reported as degraded', tags: ['operations'], response: { 200: Ready, 503: Ready } },
    logLevel: PROBE_LOG_LEVEL,
    handler: async (request, reply) => {
      const checks: Record<string, string> = {}
      try {
        let timer: NodeJS.Timeout | undefined
        try {
          await Promise.race([
            app.db.query('select 1'),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('readiness check timed out after 2 s')), 2000)
            }),
          ])
        } finally {
          clearTimeout(timer)
        }
        checks.database = 'ok'
      } catch (err) {
        // The reason (host, database name, driver message) goes to the log, never to the probe.
        request.log.warn({ err }, 'readiness check failed: database unavailable')
        checks.database = 'unavailable'
      }
      checks.storage = await storageCheck()
      const ok = checks.database === 'ok' && checks.storage === 'ok'
      // Redis is reported but not fatal: without it an instance still serves its own clients,
      // and a load balancer must not drop every instance during a Redis outage.
      const broker = app.hub.broker
      const degraded = broker instanceof RedisBroker && broker.status !== 'ready'
      if (broker instanceof RedisBroker) checks.redis = degraded ? 'unavailable' : 'ok'
      // Reported, not fatal: how game servers are isolated on this node.
      if (app.hasDecorator('serversIsolation')) {
        const iso = app.serversIsolation
        const { sandbox, cgroups } = iso.current
        if (iso.spawner.where !== 'local') checks.launcher = await iso.launcherCheck()
        checks.sandbox = sandbox.kind === 'bwrap' ? 'bwrap' : `unavailable: ${sandbox.reason}`
        checks.limits = cgroups.version ? `cgroup v${cgroups.version}` : `polling (no cgroups: ${cgroups.reason})`
      }
      return reply.code(ok ? 200 : 503).send({ status: ok ? (degraded ? 'degraded' : 'ok') : 'unavailable', checks })
    },
  })
}
