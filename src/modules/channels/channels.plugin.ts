/**
 * The IoT module: devices and telemetry ingestion, alert rules and alerts, device and system
 * status, and the channel sockets that stream them in the seed's format. Services are factories
 * wired here; route plugins receive them as options. Decorates `app.iot` (used by tests and the
 * bench).
 */
import fp from 'fastify-plugin'
import { CLOSE } from '../realtime/close-codes.js'
import { registerChannelCodecs } from './channels.codecs.js'
import { ChannelRegistry } from './channels.registry.js'
import { channelCredentialsRoutes, channelSocketRoutes } from './channels.routes.js'
import type { ChannelDeps } from './channel-socket.js'
import { createDeviceDirectory, type DeviceDirectory } from '../devices/device-directory.js'
import { createDeviceStatusService, type DeviceStatusService } from '../devices/device-status.service.js'
import { createDevicesService, type DevicesService } from '../devices/devices.service.js'
import { applicationDevicesRoutes, clientDevicesRoutes } from '../devices/devices.routes.js'
import { TelemetryWriter } from '../devices/telemetry.writer.js'
import { createIngestService, type IngestService } from '../devices/telemetry.ingest.js'
import { historyRoutes, ingestRoutes } from '../devices/telemetry.routes.js'
import { createAlertsService, type AlertsService } from '../alerts/alerts.service.js'
import { createAlertRulesService, type AlertRulesService } from '../alerts/alert-rules.service.js'
import { alertRulesRoutes, alertsRoutes } from '../alerts/alerts.routes.js'
import { SystemStatusSampler, createSystemStatusPublisher, type SystemStatusPublisher } from '../system/system-status.js'

export interface Iot {
  directory: DeviceDirectory
  status: DeviceStatusService
  devices: DevicesService
  writer: TelemetryWriter
  ingest: IngestService
  alerts: AlertsService
  rules: AlertRulesService
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
    registerChannelCodecs(app.hub)

    const directory = createDeviceDirectory({ prisma: app.prisma })
    const status = createDeviceStatusService({ prisma: app.prisma, db: app.db, hub: app.hub, log, offlineAfterSec: cfg.DEVICE_OFFLINE_AFTER })
    const devices = createDevicesService({ prisma: app.prisma, directory, status })
    // Two statements in flight keep the pool busy while the next group forms.
    const writer = new TelemetryWriter(app.db, Math.max(1, Math.min(4, cfg.DATABASE_POOL_SIZE - 1)))
    const alerts = createAlertsService({ prisma: app.prisma, hub: app.hub })
    const rules = createAlertRulesService({ prisma: app.prisma, alerts, log })
    const ingest = createIngestService({ hub: app.hub, writer, status, rules })
    const sampler = new SystemStatusSampler(cfg.DATA_DIR, () => app.hub.connections.size)
    const system = createSystemStatusPublisher({ hub: app.hub, sampler, log })
    const registry = new ChannelRegistry({
      maxTotal: cfg.WS_MAX_CONNECTIONS,
      maxPerUser: cfg.WS_MAX_CONNECTIONS_PER_USER,
      perMinute: cfg.WS_CONNECTIONS_PER_MINUTE,
    })
    app.decorate('iot', { directory, status, devices, writer, ingest, alerts, rules, system, registry })

    // Users seen at socket auth, briefly: a reconnect storm must not be one query per socket.
    // Any change to a user (admin flag, deletion) evicts it at once, on every instance.
    const users = new Map<number, { user: { id: number; uuid: string; rootAdmin: boolean }; until: number }>()
    app.events.on('user.updated', ({ user }) => users.delete(user.id))
    app.events.on('user.deleted', ({ user }) => users.delete(user.id))

    const deps: ChannelDeps = {
      hub: app.hub,
      tokens: app.socketTokens,
      directory,
      registry,
      system,
      log,
      isCredentialActive: app.isCredentialActive,
      async loadUser(id) {
        const hit = users.get(id)
        if (hit && hit.until > Date.now()) return hit.user
        const user = await app.prisma.user.findUnique({ where: { id }, select: { id: true, uuid: true, rootAdmin: true } })
        if (user) {
          if (users.size >= 10_000) users.delete(users.keys().next().value as number)
          users.set(id, { user, until: Date.now() + 30_000 })
        }
        return user
      },
      // Cluster-wide (REDIS_URL) connection limits; on one instance the local registry and these
      // agree. The holder names the instance, so slots of a crashed instance expire on their own.
      slots: {
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
      limits: {
        maxMessageBytes: cfg.WS_MAX_MESSAGE_BYTES,
        messagesPerSecond: cfg.WS_MESSAGES_PER_SECOND,
        maxBatch: cfg.WS_MAX_BATCH,
        authTimeoutSec: cfg.CHANNEL_AUTH_TIMEOUT,
        systemIntervalSec: cfg.SYSTEM_STATUS_INTERVAL,
      },
    }

    // Revocation closes exactly the sockets opened with the revoked credential or user.
    app.events.on('apikey.revoked', ({ keyId }) => registry.revokeCred(`k:${keyId}`, 'The API key behind this socket was revoked.'))
    app.events.on('session.ended', ({ sessionId }) => registry.revokeCred(`s:${sessionId}`, 'The session behind this socket ended.'))
    app.events.on('user.deleted', ({ user }) => registry.revokeUser(user.id, 'The account behind this socket was deleted.'))

    await app.register(ingestRoutes, { directory, ingest })
    await app.register(
      async (client) => {
        client.addHook('onRequest', app.requireClient)
        await client.register(channelCredentialsRoutes)
        await client.register(clientDevicesRoutes, { prefix: '/devices', devices })
        await client.register(historyRoutes, { prefix: '/devices', devices })
        await client.register(alertRulesRoutes, { prefix: '/devices', devices, rules })
        await client.register(alertsRoutes, { prefix: '/alerts', alerts })
      },
      { prefix: '/api/client' },
    )
    await app.register(
      async (application) => {
        application.addHook('onRequest', app.requireAdministrator)
        await application.register(applicationDevicesRoutes, { prefix: '/devices', devices })
      },
      { prefix: '/api/application' },
    )
    await app.register(channelSocketRoutes, { deps })

    app.addHook('onReady', async () => {
      await status.start()
    })
    app.addHook('preClose', async () => {
      system.stop()
    })
    app.addHook('onClose', async () => {
      await writer.drained()
      await status.stop()
    })
  },
  { name: 'channels', dependencies: ['auth', 'realtime', 'cluster'] },
)
