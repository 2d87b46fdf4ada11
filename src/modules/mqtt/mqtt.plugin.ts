/**
 * Devices over MQTT: the embedded broker (default), or a link to the external broker named by
 * MQTT_URL; off with MQTT_ENABLED=false. Telemetry goes through the same ingestion service as
 * HTTP, and device connections become command transports. Decorates `app.mqtt` with the port
 * the embedded broker listens on (null when it is off or its port was taken).
 */
import fp from 'fastify-plugin'
import { EmbeddedBroker } from './mqtt.embedded.js'
import { ExternalBrokerLink } from './mqtt.external.js'

declare module 'fastify' {
  interface FastifyInstance {
    mqtt: { port: number | null; mode: 'embedded' | 'external' | 'off' }
  }
}

export default fp(
  async function mqttModule(app) {
    const cfg = app.config
    const state: { port: number | null; mode: 'embedded' | 'external' | 'off' } = { port: null, mode: 'off' }
    app.decorate('mqtt', state)
    if (!cfg.MQTT_ENABLED) return
    const log = app.log.child({ module: 'mqtt' })
    const livenessEveryMs = Math.max(100, Math.floor((cfg.DEVICE_OFFLINE_AFTER * 1000) / 3))
    const deps = { directory: app.devices.directory, ingest: app.devices.ingest, status: app.devices.status, commands: app.commands, log }

    if (cfg.MQTT_URL) {
      const link = new ExternalBrokerLink(
        {
          url: cfg.MQTT_URL,
          prefix: cfg.MQTT_TOPIC_PREFIX,
          group: cfg.MQTT_SHARE_GROUP,
          clientId: `wirehub-${cfg.NODE_NAME}-${app.cluster.instanceId.slice(0, 8)}`,
          maxPacketBytes: cfg.MQTT_MAX_PACKET_BYTES,
          maxReadings: cfg.TELEMETRY_MAX_READINGS,
          livenessEveryMs,
        },
        {
          ...deps,
          offlineSince: async (ids) => {
            if (ids.length === 0) return []
            const rows = await app.db.query<{ id: number; at: Date | null }>(`select id, status_changed_at as at from devices where id = any($1::int[]) and status = 'offline'`, [ids])
            return rows.map((r) => ({ id: r.id, at: r.at?.getTime() ?? 0 }))
          },
        },
      )
      state.mode = 'external'
      // After onReady: the status tracker and the command sweep run before the first message.
      app.addHook('onReady', async () => {
        await link.start()
        log.info({ prefix: cfg.MQTT_TOPIC_PREFIX, group: cfg.MQTT_SHARE_GROUP }, 'subscribed to the external MQTT broker')
      })
      app.addHook('preClose', async () => link.close())
      return
    }

    const broker = new EmbeddedBroker(
      {
        host: cfg.MQTT_HOST ?? cfg.HOST,
        port: cfg.MQTT_PORT,
        maxPacketBytes: cfg.MQTT_MAX_PACKET_BYTES,
        messagesPerSecond: cfg.MQTT_MESSAGES_PER_SECOND,
        maxReadings: cfg.TELEMETRY_MAX_READINGS,
        livenessEveryMs,
      },
      deps,
    )
    app.addHook('onReady', async () => {
      state.port = await broker.listen()
      if (state.port !== null) {
        state.mode = 'embedded'
        log.info({ port: state.port }, 'embedded MQTT broker listening')
      }
    })
    app.addHook('preClose', async () => broker.close())
  },
  { name: 'mqtt', dependencies: ['devices', 'commands'] },
)
