/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) that devices talk to directly, with
 * ThingsBoard's device topics so existing firmware works:
 *
 * - CONNECT: username = device id and password = device key, or username = device key and no
 *   password (ThingsBoard's access-token convention). Anything else is refused with return
 *   code 4 (bad username or password); repeated failures from one address are refused for a
 *   while. The connection is the device's liveness: online at CONNECT (and with every PINGREQ),
 *   offline when it ends.
 * - PUBLISH `v1/devices/me/telemetry`: the HTTP ingestion body. The PUBACK (QoS 1) is written
 *   only after the readings are committed; if storing fails the connection is closed without
 *   PUBACK, so the device sends the message again. A payload that can never be stored (bad JSON,
 *   schema) is acknowledged and dropped whole, and the reason is published to the device on
 *   `v1/devices/me/errors` if it subscribed there.
 * - Commands: a device that subscribed to `v1/devices/me/rpc/request/+` receives each command
 *   as QoS 1 on `…/request/<id>` (`{"method","params"}`); its PUBACK makes it DELIVERED and its
 *   answer on `v1/devices/me/rpc/response/<id>` SUCCEEDED (or FAILED for `{"error":"…"}`).
 * - Other topics: publishing closes the connection, subscribing is refused (SUBACK 0x80).
 */
import { createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { Aedes, type Client } from 'aedes'
import type { FastifyBaseLogger } from 'fastify'
import { FailureLimiter } from '../../lib/failure-limiter.js'
import { TokenBucket } from '../realtime/token-bucket.js'
import type { DeviceDirectory, DeviceInfo } from '../devices/device-directory.js'
import { deviceOfKey } from '../devices/device-auth.js'
import { parseDeviceKey } from '../devices/device-key.js'
import type { DeviceStatusService } from '../devices/device-status.service.js'
import { REASON_DISCONNECTED } from '../devices/device-status.js'
import type { IngestService } from '../devices/telemetry.ingest.js'
import type { CommandTransport, CommandsService } from '../commands/commands.service.js'
import { guardPacketSize } from './mqtt.packet-guard.js'
import { TB, commandAnswer, embeddedTopic, telemetryChecker } from './mqtt.payload.js'

export interface EmbeddedBrokerOptions {
  host: string
  port: number
  maxPacketBytes: number
  messagesPerSecond: number
  maxReadings: number
  /** Every this many ms an open connection counts as a sign of life (below the offline window). */
  livenessEveryMs: number
}

export interface EmbeddedDeps {
  directory: DeviceDirectory
  ingest: IngestService
  status: DeviceStatusService
  commands: CommandsService
  log: FastifyBaseLogger
}

interface Session {
  device: DeviceInfo
  bucket: TokenBucket
  transport: CommandTransport | null
  /** messageId → command id of commands sent and not yet acknowledged. */
  inflight: Map<number, number>
  /** command id → the messageId it goes out with. */
  outgoing: Map<number, number>
  nextId: number
}

const authError = (code: 3 | 4 | 5, message: string) => Object.assign(new Error(message), { returnCode: code })

export class EmbeddedBroker {
  readonly broker: Aedes
  private server: Server | null = null
  private readonly sessions = new WeakMap<Client, Session>()
  private readonly ips = new WeakMap<object, string>()
  /** device id → its open connections (usually one). */
  private readonly byDevice = new Map<number, Set<Client>>()
  private readonly failures = new FailureLimiter({ maxFailures: 30, windowMs: 60_000 })
  private readonly checkTelemetry: ReturnType<typeof telemetryChecker>
  private livenessTimer: NodeJS.Timeout | null = null
  private connSeq = 0

  constructor(
    private readonly opts: EmbeddedBrokerOptions,
    private readonly deps: EmbeddedDeps,
  ) {
    this.checkTelemetry = telemetryChecker(opts.maxReadings, opts.maxPacketBytes)
    this.broker = new Aedes({
      maxClientsIdLength: 128,
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then((ok) => done(null, ok), (err: Error & { returnCode: 3 | 4 | 5 }) => done(err, false))
      },
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => {
        const allowed = sub.topic === TB.rpcRequestFilter || sub.topic === TB.errors
        done(null, allowed ? { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 } : null)
      },
      authorizeForward: (client, packet) => {
        const s = this.sessions.get(client)
        if (!s) return null
        if (packet.topic.startsWith(TB.rpcRequestPrefix)) {
          const id = Number(packet.topic.slice(TB.rpcRequestPrefix.length))
          const messageId = s.outgoing.get(id)
          if (messageId === undefined) return null
          if (messageId === 0) s.outgoing.delete(id)
          else packet.messageId = messageId
        }
        return packet
      },
    })
    this.broker.on('clientReady', (client) => this.ready(client))
    this.broker.on('clientDisconnect', (client) => this.gone(client))
    this.broker.on('ping', (_p, client) => {
      const s = this.sessions.get(client)
      if (s) deps.status.seen(s.device, Date.now())
    })
    this.broker.on('subscribe', (subs, client) => {
      if (subs.some((s) => s.topic === TB.rpcRequestFilter)) this.attach(client)
    })
    this.broker.on('unsubscribe', (topics, client) => {
      if (topics.includes(TB.rpcRequestFilter)) this.detach(client)
    })
  }

  /** Listens; resolves with the port, or null (logged) when the port is taken. */
  async listen(): Promise<number | null> {
    await this.broker.listen()
    // The PUBACK of a command is its DELIVERED: aedes reports the acknowledged packet only for
    // persistent sessions, so the acknowledgement is read where aedes clears the message id (in
    // its default in-memory persistence, created by listen()).
    const persistence = (this.broker as unknown as { persistence: Record<string, (client: Client, packet: { messageId?: number }) => Promise<unknown>> }).persistence
    const clear = persistence.outgoingClearMessageId!.bind(persistence)
    persistence.outgoingClearMessageId = (client, packet) => {
      this.acknowledged(client, packet.messageId)
      return clear(client, packet)
    }
    const server = createServer((socket: Socket) => {
      const conn = guardPacketSize(socket, this.opts.maxPacketBytes, (size) =>
        this.deps.log.warn({ size, max: this.opts.maxPacketBytes }, 'MQTT packet larger than MQTT_MAX_PACKET_BYTES; connection closed'),
      )
      this.ips.set(conn, socket.remoteAddress ?? '')
      this.broker.handle(conn)
    })
    server.listen(this.opts.port, this.opts.host)
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))])
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
      this.deps.log.warn(`MQTT port ${this.opts.host}:${this.opts.port} is in use (another broker?): the embedded MQTT broker is off. Set MQTT_PORT to a free port, MQTT_URL to use that broker, or MQTT_ENABLED=false.`)
      await new Promise<void>((r) => this.broker.close(() => r()))
      return null
    }
    this.server = server
    this.livenessTimer = setInterval(() => this.touchAll(), this.opts.livenessEveryMs)
    this.livenessTimer.unref()
    return (server.address() as { port: number }).port
  }

  async close(): Promise<void> {
    if (this.livenessTimer) clearInterval(this.livenessTimer)
    if (!this.server) return
    const server = this.server
    this.server = null
    const closed = new Promise<void>((r) => server.close(() => r()))
    await new Promise<void>((r) => this.broker.close(() => r()))
    await closed
  }

  // ------------------------------------------------------------------ connections

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    const ip = this.ips.get(client.conn) ?? ''
    const retry = this.failures.retryAfterMs(ip)
    if (retry > 0) throw authError(5, 'too many failed attempts')
    const pass = password && password.length > 0 ? password.toString('utf8') : undefined
    // ThingsBoard: the access token as username and no password.
    const tokenAsUser = pass === undefined && username !== undefined && parseDeviceKey(username) !== undefined
    const claimedId = tokenAsUser ? null : username !== undefined && /^[1-9][0-9]{0,9}$/.test(username) ? Number(username) : undefined
    let device: DeviceInfo | null = null
    if (claimedId !== undefined) {
      try {
        device = await deviceOfKey(this.deps.directory, tokenAsUser ? username : pass)
      } catch (err) {
        this.deps.log.warn({ err }, 'MQTT authentication could not reach the database')
        throw authError(3, 'server unavailable')
      }
    }
    if (!device || (claimedId !== null && claimedId !== device.id)) {
      this.failures.fail(ip)
      throw authError(4, 'bad username or password')
    }
    this.sessions.set(client, {
      device,
      bucket: new TokenBucket(this.opts.messagesPerSecond, this.opts.messagesPerSecond),
      transport: null,
      inflight: new Map(),
      outgoing: new Map(),
      nextId: 1,
    })
    return true
  }

  private ready(client: Client): void {
    const s = this.sessions.get(client)
    if (!s) return
    let set = this.byDevice.get(s.device.id)
    if (!set) this.byDevice.set(s.device.id, (set = new Set()))
    set.add(client)
    this.deps.status.seen(s.device, Date.now())
    // A persistent session comes back with its subscriptions and without a SUBSCRIBE.
    if ((client as unknown as { subscriptions: Record<string, unknown> }).subscriptions[TB.rpcRequestFilter]) this.attach(client)
  }

  private gone(client: Client): void {
    const s = this.sessions.get(client)
    if (!s) return
    this.detach(client)
    const set = this.byDevice.get(s.device.id)
    set?.delete(client)
    if (set && set.size === 0) {
      this.byDevice.delete(s.device.id)
      // A failure is logged by the status service, which reloads the device's state on next use.
      this.deps.status.disconnected(s.device, REASON_DISCONNECTED).catch(() => {})
    }
  }

  /** Keeps connected devices online however long their keep-alive is. */
  private touchAll(): void {
    const now = Date.now()
    for (const set of this.byDevice.values()) {
      const first = set.values().next().value
      const s = first && this.sessions.get(first)
      if (s) this.deps.status.seen(s.device, now)
    }
  }

  // ------------------------------------------------------------------ commands

  private attach(client: Client): void {
    const s = this.sessions.get(client)
    if (!s || s.transport || client.closed) return
    const transport: CommandTransport = {
      kind: 'mqtt',
      ref: `${client.id}#${++this.connSeq}`,
      send: (rows) => {
        if (client.closed) return false
        // aedes matches a direct publish against the exact topic, not the filter: honour the
        // granted QoS here. At QoS 0 no PUBACK comes back, so DELIVERED waits for the answer.
        const sub = (client as unknown as { subscriptions: Record<string, { qos: number } | undefined> }).subscriptions[TB.rpcRequestFilter]
        const qos = sub && sub.qos > 0 ? 1 : 0
        for (const row of rows) {
          const payload = Buffer.from(JSON.stringify({ method: row.method, params: row.params }))
          if (qos === 1) {
            const messageId = s.nextId
            s.nextId = s.nextId >= 65_535 ? 1 : s.nextId + 1
            s.inflight.set(messageId, row.id)
            s.outgoing.set(row.id, messageId)
          } else {
            s.outgoing.set(row.id, 0)
          }
          client.publish({ cmd: 'publish', topic: TB.rpcRequestPrefix + row.id, payload, qos, retain: false, dup: false }, () => {})
        }
        return true
      },
    }
    s.transport = transport
    void this.deps.commands.attach(s.device.id, transport)
  }

  private detach(client: Client): void {
    const s = this.sessions.get(client)
    if (!s?.transport) return
    const t = s.transport
    s.transport = null
    s.inflight.clear()
    s.outgoing.clear()
    void this.deps.commands.detach(s.device.id, t, true)
  }

  private acknowledged(client: Client, messageId: number | undefined): void {
    const s = this.sessions.get(client)
    if (!s || messageId === undefined) return
    const commandId = s.inflight.get(messageId)
    if (commandId === undefined) return
    s.inflight.delete(messageId)
    s.outgoing.delete(commandId)
    void this.deps.commands.reply(s.device.id, commandId, { ack: true }).catch((err) => this.deps.log.warn({ err }, 'could not record a command acknowledgement'))
  }

  // ------------------------------------------------------------------ publishes

  private authorizePublish(client: Client | null, packet: { topic: string; payload: Buffer | string; retain: boolean; qos: number }, done: (err?: Error | null) => void): void {
    if (!client) return done(null)
    const s = this.sessions.get(client)
    if (!s) return done(new Error('not authenticated'))
    if (!client.closed && !s.bucket.take()) {
      // Over the per-device rate: the acknowledgement (and the next packets) wait.
      setTimeout(() => this.authorizePublish(client, packet, done), Math.ceil(1000 / this.opts.messagesPerSecond))
      return
    }
    // Nothing a device publishes is kept for other subscribers.
    packet.retain = false
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const meaning = embeddedTopic(packet.topic)
    const device = s.device
    switch (meaning.kind) {
      case 'telemetry': {
        const checked = this.checkTelemetry(payload)
        if (!checked.ok) {
          this.refuse(client, packet.topic, checked.error)
          return done(null)
        }
        this.deps.ingest.ingest(device, checked.value).then(
          () => done(null),
          (err: Error) => {
            this.deps.log.warn({ err, deviceId: device.id }, 'MQTT telemetry not stored; closing the connection without PUBACK')
            done(err)
          },
        )
        return
      }
      case 'status': {
        const text = payload.toString('utf8').trim().toLowerCase()
        if (text === 'online') this.deps.status.seen(device, Date.now())
        else if (text === 'offline') return void this.deps.status.disconnected(device, client.closed ? 'Connection lost (will message)' : 'Reported offline').then(() => done(null), done)
        return done(null)
      }
      case 'rpc_response': {
        const answer = commandAnswer(payload, this.opts.maxPacketBytes)
        if (!answer.ok) {
          this.refuse(client, packet.topic, answer.error)
          return done(null)
        }
        this.deps.commands.reply(device.id, meaning.commandId, answer.value).then(() => done(null), done)
        return
      }
      default:
        return done(new Error(`publishing to ${packet.topic.slice(0, 100)} is not allowed`))
    }
  }

  /** Tells the device why a payload was dropped, if it listens on the errors topic. */
  private refuse(client: Client, topic: string, error: string): void {
    if (!(client as unknown as { subscriptions: Record<string, unknown> }).subscriptions[TB.errors]) return
    const payload = Buffer.from(JSON.stringify({ topic, error }))
    client.publish({ cmd: 'publish', topic: TB.errors, payload, qos: 0, retain: false, dup: false }, () => {})
  }
}
