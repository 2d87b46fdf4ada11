/**
 * Decorates `app.cluster`: the Redis cluster when REDIS_URL is set, the local one otherwise;
 * with Redis, also relays domain events between instances.
 */
import fp from 'fastify-plugin'
import type { Cluster } from './cluster.types.js'
import { EventBridge } from './event-bridge.js'
import { LocalCluster } from './local-cluster.js'
import { RedisCluster } from './redis-cluster.js'
import { createCredentialSweep } from '../auth/credential-sweep.js'

declare module 'fastify' {
  interface FastifyInstance {
    cluster: Cluster
  }
}

export default fp(
  async function clusterPlugin(app) {
    const cfg = app.config
    const publicUrl = () => cfg.publicUrl
    const log = app.log.child({ module: 'cluster' })
    const cluster: Cluster = cfg.REDIS_URL
      ? new RedisCluster(cfg.REDIS_URL, cfg.NODE_NAME, publicUrl, log, { prefix: cfg.REDIS_PREFIX, nodeTtlMs: cfg.REDIS_NODE_TTL * 1000 })
      : new LocalCluster(cfg.NODE_NAME, publicUrl)
    const bridge = cfg.REDIS_URL ? new EventBridge(cfg.REDIS_URL, app.events, cfg.REDIS_PREFIX) : null
    app.decorate('cluster', cluster)
    // The backstop for revocations that could not be announced (auth/credential-sweep.ts).
    const sweep = createCredentialSweep({
      prisma: app.prisma,
      forEachConnection: (fn) => app.hub.forEachConnection(fn),
      apiKeys: app.apiKeys,
      sessions: app.sessions,
      log: app.log.child({ module: 'revocation' }),
      intervalMs: cfg.REVOCATION_CHECK_INTERVAL * 1000,
    })
    bridge?.onReconnect(() => void sweep.sweep())
    app.addHook('onReady', async () => sweep.start())
    if (cluster instanceof RedisCluster) app.addHook('onListen', async () => cluster.announce())
    app.addHook('onClose', async () => {
      await sweep.stop()
      await bridge?.close()
      await cluster.close()
    })
  },
  { name: 'cluster', dependencies: ['config', 'database', 'auth', 'realtime'] },
)
