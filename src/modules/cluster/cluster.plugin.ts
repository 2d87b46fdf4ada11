/**
 * Decorates `app.cluster`: the Redis cluster when REDIS_URL is set, the local one otherwise;
 * with Redis, also relays domain events between instances.
 */
import fp from 'fastify-plugin'
import type { Cluster } from './cluster.types.js'
import { EventBridge } from './event-bridge.js'
import { LocalCluster } from './local-cluster.js'
import { RedisCluster } from './redis-cluster.js'

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
    if (cluster instanceof RedisCluster) app.addHook('onListen', async () => cluster.announce())
    app.addHook('onClose', async () => {
      await bridge?.close()
      await cluster.close()
    })
  },
  { name: 'cluster', dependencies: ['config'] },
)
