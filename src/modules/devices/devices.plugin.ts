/**
 * The devices module: devices (CRUD, keys, status), telemetry ingestion with its group-commit
 * writer, and history. Services are factories wired here; route plugins receive them as options.
 * Decorates `app.devices`; other modules react to stored telemetry through `telemetryEvents`.
 */
import fp from 'fastify-plugin'
import { createDeviceDirectory, type DeviceDirectory } from './device-directory.js'
import { createDeviceStatusService, type DeviceStatusService } from './device-status.service.js'
import { createDevicesService, type DevicesService } from './devices.service.js'
import { applicationDevicesRoutes, clientDevicesRoutes } from './devices.routes.js'
import { registerDeviceCodecs } from './devices.messages.js'
import { TelemetryWriter } from './telemetry.writer.js'
import { TelemetryEvents } from './telemetry.events.js'
import { createMetricCatalogue, type MetricCatalogue } from './metric-catalogue.js'
import { createTelemetryRetention, type TelemetryRetention } from './telemetry.retention.js'
import { createTelemetryStream, type TelemetryStream } from './telemetry.stream.js'
import { createIngestService, type IngestService } from './telemetry.ingest.js'
import { historyRoutes, ingestRoutes } from './telemetry.routes.js'

export interface DevicesModule {
  directory: DeviceDirectory
  status: DeviceStatusService
  devices: DevicesService
  writer: TelemetryWriter
  ingest: IngestService
  telemetryEvents: TelemetryEvents
  catalogue: MetricCatalogue
  retention: TelemetryRetention
  stream: TelemetryStream
}

declare module 'fastify' {
  interface FastifyInstance {
    devices: DevicesModule
  }
}

export default fp(
  async function devicesModule(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'devices' })
    registerDeviceCodecs(app.hub)

    const directory = createDeviceDirectory({ prisma: app.prisma })
    const status = createDeviceStatusService({ prisma: app.prisma, db: app.db, hub: app.hub, log, offlineAfterSec: cfg.DEVICE_OFFLINE_AFTER })
    const catalogue = createMetricCatalogue({ db: app.db, log })
    const devices = createDevicesService({ prisma: app.prisma, directory, status, catalogue })
    // Two statements in flight keep the pool busy while the next group forms.
    const writer = new TelemetryWriter(app.db, Math.max(1, Math.min(4, cfg.DATABASE_POOL_SIZE - 1)))
    const telemetryEvents = new TelemetryEvents(log)
    const ingest = createIngestService({ hub: app.hub, writer, status, events: telemetryEvents, catalogue, maxReadings: cfg.TELEMETRY_MAX_READINGS })
    const retention = createTelemetryRetention({
      db: app.db,
      log,
      options: {
        telemetryDays: cfg.TELEMETRY_RETENTION,
        partitionsAhead: cfg.TELEMETRY_PARTITIONS_AHEAD,
        activityDays: cfg.ACTIVITY_RETENTION,
        deviceEventsDays: cfg.DEVICE_EVENTS_RETENTION,
        resolvedAlertsDays: cfg.RESOLVED_ALERTS_RETENTION,
      },
    })
    const stream = createTelemetryStream({ db: app.db })
    app.decorate('devices', { directory, status, devices, writer, ingest, telemetryEvents, catalogue, retention, stream })

    await app.register(ingestRoutes, { directory, ingest })
    await app.register(
      async (client) => {
        client.addHook('onRequest', app.requireClient)
        await client.register(clientDevicesRoutes, { prefix: '/devices', devices })
        await client.register(historyRoutes, { prefix: '/devices', devices })
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

    app.addHook('onReady', async () => {
      await status.start()
      await retention.start(cfg.RETENTION_INTERVAL)
    })
    app.addHook('onClose', async () => {
      await retention.stop()
      await writer.drained()
      await status.stop()
    })
  },
  { name: 'devices', dependencies: ['database', 'auth', 'realtime'] },
)
