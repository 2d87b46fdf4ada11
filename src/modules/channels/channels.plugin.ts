/**
 * The channel sockets that stream the IoT modules' messages (telemetry, device status, alerts,
 * system status) in the seed's format, and the credential endpoint for them. The publishing
 * modules (devices, alerts, system) own their topics and message shapes; this module only
 * subscribes sockets to them. Decorates `app.iot`, one view of the IoT services (used by tests
 * and the bench).
 */
import fp from 'fastify-plugin'
import { CLOSE } from '../realtime/close-codes.js'
import { ChannelRegistry } from './channels.registry.js'
import { CHANNELS_KIND, channelCredentialsRoutes, channelSocketRoutes } from './channels.routes.js'
import type { ChannelDeps } from './channel-socket.js'
import type { DevicesModule } from '../devices/devices.plugin.js'
import type { AlertsModule } from '../alerts/alerts.plugin.js'
import { SystemStatusSampler, createSystemStatusPublisher, type SystemStatusPublisher } from '../system/system-status.js'

export interface Iot extends Pick<DevicesModule, 'directory' | 'status' | 'devices' | 'writer' | 'ingest'>, AlertsModule {
  system: SystemStatusPublisher
  registry: ChannelRegistry
}

declare module 'fastify' {
  interface FastifyInstance {
    iot: Iot
  }
}

export default fp(
  async function channelsModule(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'channels' })
    const { directory, status, devices, writer, ingest } = app.devices
    const { alerts, rules } = app.alerts
    const sampler = new SystemStatusSampler(cfg.DATA_DIR, () => app.hub.connections.size)
    const system = createSystemStatusPublisher({ hub: app.hub, sampler, log })
    const index = app.sockets.index
    const registry = new ChannelRegistry(
      { maxTotal: cfg.WS_MAX_CONNECTIONS, maxPerUser: cfg.WS_MAX_CONNECTIONS_PER_USER, perMinute: cfg.WS_CONNECTIONS_PER_MINUTE },
      { total: () => index.authenticatedOf(CHANNELS_KIND), ofUser: (userId) => index.userCount(userId, CHANNELS_KIND) },
    )
    app.decorate('iot', { directory, status, devices, writer, ingest, alerts, rules, system, registry })

    // Users seen at socket auth, briefly: a reconnect storm must not be one query per socket.
    // Any change to a user (admin flag, deletion) evicts it at once, on every instance.
    const users = new Map<number, { user: { id: number; uuid: string; rootAdmin: boolean }; until: number }>()
    // (Sockets re-evaluate a changed user with `fresh`, whichever listener runs first.)
    app.events.on('user.updated', ({ user }) => users.delete(user.id))
    app.events.on('user.deleted', ({ user }) => users.delete(user.id))

    const deps: ChannelDeps = {
      tokens: app.socketTokens,
      directory,
      stream: app.devices.stream,
      registry,
      system,
      log,
      isCredentialActive: app.isCredentialActive,
      async loadUser(id, fresh = false) {
        const hit = users.get(id)
        if (hit && hit.until > Date.now() && !fresh) return hit.user
        const user = await app.prisma.user.findUnique({ where: { id }, select: { id: true, uuid: true, rootAdmin: true } })
        if (user) {
          if (users.size >= 10_000) users.delete(users.keys().next().value as number)
          users.set(id, { user, until: Date.now() + 30_000 })
        }
        return user
      },
      // Cluster-wide (REDIS_URL) connection limits; a single instance has only the local registry's.
      // The holder names the instance, so slots of a crashed instance expire on their own.
      slots: !app.cluster.distributed ? null : {
        async acquire(userId, holder) {
          const id = `${app.cluster.instanceId}:${holder}`
          if (!(await app.cluster.acquire('channels:all', id, cfg.WS_MAX_CONNECTIONS))) {
            return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `The cluster accepts at most ${cfg.WS_MAX_CONNECTIONS} channel sockets; retry later.` }
          }
          if (!(await app.cluster.acquire(`channels:user:${userId}`, id, cfg.WS_MAX_CONNECTIONS_PER_USER))) {
            await app.cluster.release('channels:all', id)
            return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `At most ${cfg.WS_MAX_CONNECTIONS_PER_USER} channel sockets per user; close one first.` }
          }
          return null
        },
        release(userId, holder) {
          const id = `${app.cluster.instanceId}:${holder}`
          void app.cluster.release('channels:all', id)
          void app.cluster.release(`channels:user:${userId}`, id)
        },
      },
      limits: { maxBatch: cfg.WS_MAX_BATCH, systemIntervalSec: cfg.SYSTEM_STATUS_INTERVAL },
    }

    await app.register(
      async (client) => {
        client.addHook('onRequest', app.requireClient)
        await client.register(channelCredentialsRoutes)
      },
      { prefix: '/api/client' },
    )
    await app.register(channelSocketRoutes, { deps })

    app.addHook('preClose', async () => {
      system.stop()
    })
  },
  { name: 'channels', dependencies: ['auth', 'realtime', 'cluster', 'devices', 'alerts'] },
)
