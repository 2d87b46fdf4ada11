/**
 * External broker mode (MQTT_URL): devices talk to a broker the user already runs (Mosquitto,
 * EMQX, HiveMQ) and wirehub is one more client of it. Every instance subscribes with MQTT 5
 * shared subscriptions (`$share/<group>/<prefix>/+/…`), so the broker hands each message to one
 * instance of the group: several instances ingest each reading once.
 *
 * The broker authenticates devices (its own users and ACLs); wirehub trusts the device id in the
 * topic, `<prefix>/<device id>/…`, so the ACL must keep each device to its own prefix. An
 * incoming QoS 1 message is acknowledged to the broker only after its readings are committed
 * (mqtt.js `customHandleAcks`); a failure to store closes wirehub's connection without PUBACK so
 * the broker delivers the message again.
 *
 * Commands go to `<prefix>/<id>/rpc/request/<command id>` while the device is online: it
 * reports that on `<prefix>/<id>/status` ("online" after subscribing, "offline" as its will).
 * The broker's PUBACK only says the broker has it, so DELIVERED waits for the device: an empty
 * message on `…/rpc/ack/<command id>`, or its answer on `…/rpc/response/<command id>`.
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { FastifyBaseLogger } from 'fastify'
import type { DeviceDirectory, DeviceInfo } from '../devices/device-directory.js'
import type { DeviceStatusService } from '../devices/device-status.service.js'
import type { IngestService } from '../devices/telemetry.ingest.js'
import type { CommandTransport, CommandsService } from '../commands/commands.service.js'
import { commandAnswer, externalTopics, telemetryChecker } from './mqtt.payload.js'

/**
 * Connections per instance, all in the share group: mqtt.js handles one incoming message at a
 * time per connection and each waits for its commit, so a few in parallel let commits group.
 */
const LINKS = 4
/** How long the broker keeps a link's session (and its unacknowledged messages) after it drops. */
const SESSION_EXPIRY_SEC = 60

export interface ExternalOptions {
  url: string
  prefix: string
  group: string
  clientId: string
  maxPacketBytes: number
  maxReadings: number
  /** Every this many ms a device that reported itself online counts as seen (below the offline window). */
  livenessEveryMs: number
}

export interface ExternalDeps {
  /** Devices among these stored as offline, with when that was recorded (maybe by another instance). */
  offlineSince(ids: number[]): Promise<Array<{ id: number; at: number }>>
  directory: DeviceDirectory
  ingest: IngestService
  status: DeviceStatusService
  commands: CommandsService
  log: FastifyBaseLogger
}

export class ExternalBrokerLink {
  private readonly clients: MqttClient[] = []
  private readonly topics: ReturnType<typeof externalTopics>
  private readonly checkTelemetry: ReturnType<typeof telemetryChecker>
  private readonly transports = new Map<number, CommandTransport>()
  /** Devices that reported `online` to this instance, until they report `offline`. */
  private readonly online = new Map<number, { device: DeviceInfo; since: number }>()
  private livenessTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly opts: ExternalOptions,
    private readonly deps: ExternalDeps,
  ) {
    this.topics = externalTopics(opts.prefix)
    this.checkTelemetry = telemetryChecker(opts.maxReadings, opts.maxPacketBytes)
  }

  /** Connects every link and subscribes; resolves once the subscriptions are granted. */
  async start(): Promise<void> {
    for (let i = 0; i < LINKS; i++) this.clients.push(await this.connect(`${this.opts.clientId}-${i}`))
    // "online" stands until "offline" (the will): silence alone does not take such a device offline.
    // The broker may hand a device's "offline" to another instance of the group: what it
    // recorded ends this instance's view of the device (and its command transport) too.
    this.livenessTimer = setInterval(() => void this.refreshOnline(), this.opts.livenessEveryMs)
    this.livenessTimer.unref()
  }

  private async connect(clientId: string): Promise<MqttClient> {
    const client = mqtt.connect(this.opts.url, {
      protocolVersion: 5,
      clientId,
      // A persistent session: a message left unacknowledged (storing failed) is delivered again
      // after the reconnect below.
      clean: false,
      reconnectPeriod: 1000,
      properties: { maximumPacketSize: this.opts.maxPacketBytes, sessionExpiryInterval: SESSION_EXPIRY_SEC },
      customHandleAcks: (topic, message, _packet, done) => {
        this.handle(topic, message).then(
          () => done(0),
          (err: Error) => {
            this.deps.log.warn({ err, topic }, 'MQTT message not stored; reconnecting so that the broker delivers it again')
            done(err)
            client.stream.destroy()
          },
        )
      },
    })
    client.on('error', (err) => this.deps.log.warn({ err }, 'external MQTT broker error'))
    const subscribe = () => client.subscribeAsync(this.topics.subscriptions.map((t) => `$share/${this.opts.group}/${t}`), { qos: 1 })
    client.on('connect', (ack) => {
      if (!ack.sessionPresent) void subscribe().catch((err: Error) => this.deps.log.error({ err }, 'external MQTT subscription failed'))
    })
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
    })
    const granted = await subscribe()
    const refused = granted.filter((g) => g.qos > 2)
    if (refused.length > 0) throw new Error(`the external MQTT broker refused ${refused.map((g) => g.topic).join(', ')} (reason ${refused[0]!.qos})`)
    return client
  }

  async close(): Promise<void> {
    if (this.livenessTimer) clearInterval(this.livenessTimer)
    for (const [deviceId, t] of this.transports) await this.deps.commands.detach(deviceId, t, true)
    this.transports.clear()
    await Promise.all(this.clients.map((c) => c.endAsync()))
  }

  /** Everything a device publishes; resolves once it is recorded (then the broker gets PUBACK). */
  private async handle(topic: string, message: Buffer): Promise<void> {
    const meaning = this.topics.parse(topic)
    if (meaning.kind === 'other' || meaning.deviceId === null) return
    const device = await this.deps.directory.get(meaning.deviceId)
    if (!device) {
      this.deps.log.debug({ topic }, 'MQTT message for an unknown device dropped')
      return
    }
    switch (meaning.kind) {
      case 'telemetry': {
        const checked = this.checkTelemetry(message)
        if (!checked.ok) {
          this.deps.log.info({ deviceId: device.id, error: checked.error }, 'MQTT telemetry refused: nothing stored')
          return
        }
        await this.deps.ingest.ingest(device, checked.value)
        return
      }
      case 'status': {
        const text = message.toString('utf8').trim().toLowerCase()
        if (text === 'online') return this.reportedOnline(device)
        if (text === 'offline') return this.reportedOffline(device)
        return
      }
      case 'rpc_ack':
        await this.deps.commands.reply(device.id, meaning.commandId, { ack: true })
        return
      case 'rpc_response': {
        const answer = commandAnswer(message, this.opts.maxPacketBytes)
        if (answer.ok) await this.deps.commands.reply(device.id, meaning.commandId, answer.value)
        return
      }
    }
  }

  private async refreshOnline(): Promise<void> {
    try {
      for (const { id, at } of await this.deps.offlineSince([...this.online.keys()])) {
        const o = this.online.get(id)
        if (o && at >= o.since) this.dropOnline(id)
      }
    } catch (err) {
      this.deps.log.warn({ err }, 'could not check the stored status of MQTT devices')
      return
    }
    const now = Date.now()
    for (const { device } of this.online.values()) this.deps.status.seen(device, now)
  }

  private dropOnline(deviceId: number): void {
    this.online.delete(deviceId)
    const t = this.transports.get(deviceId)
    this.transports.delete(deviceId)
    if (t) void this.deps.commands.detach(deviceId, t, true)
  }

  private async reportedOnline(device: DeviceInfo): Promise<void> {
    this.online.set(device.id, { device, since: Date.now() })
    this.deps.status.seen(device, Date.now())
    if (this.transports.has(device.id)) return
    const transport: CommandTransport = {
      kind: 'mqtt',
      ref: `external:${device.id}:${Date.now()}`,
      send: (rows) => {
        const client = this.clients.find((c) => c.connected)
        if (!client) return false
        // Not awaited: the broker's PUBACK arrives on a connection that may be busy with this
        // very device's message, and it proves nothing about the device anyway.
        for (const row of rows) {
          client.publish(this.topics.request(device.id, row.id), JSON.stringify({ method: row.method, params: row.params }), { qos: 1 }, (err) => {
            if (err) this.deps.log.warn({ err, deviceId: device.id }, 'could not publish a command to the external broker')
          })
        }
        return true
      },
    }
    this.transports.set(device.id, transport)
    void this.deps.commands.attach(device.id, transport)
  }

  private async reportedOffline(device: DeviceInfo): Promise<void> {
    this.dropOnline(device.id)
    // Another instance may have recorded the device online: decide from the stored state.
    this.deps.directory.invalidate(device.id)
    const fresh = await this.deps.directory.get(device.id)
    if (!fresh) return
    this.deps.status.forget(device.id)
    await this.deps.status.disconnected(fresh, 'Reported offline')
  }
}
