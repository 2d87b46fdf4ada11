/**
 * Helpers for the MQTT and command tests: an app with the embedded broker on a free port, real
 * `mqtt` clients with unique client ids (and unique topic prefixes for the shared Mosquitto),
 * and waiting for messages on a client without sleeps.
 */
import { randomBytes } from 'node:crypto'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { iotApp } from '../channels/support.js'
import type { TapLike, TestApp } from '../helper.js'

export const uid = () => randomBytes(4).toString('hex')

/** A listening app with the embedded MQTT broker on a free port. */
export async function mqttApp(t: TapLike, env: Record<string, string> = {}): Promise<TestApp & { mqttUrl: string }> {
  const ta = await iotApp(t, { MQTT_ENABLED: 'true', MQTT_PORT: '0', COMMAND_POLL_INTERVAL_MS: '100', ...env })
  const port = ta.app.mqtt.port
  if (port === null) throw new Error('the embedded MQTT broker did not start')
  return { ...ta, mqttUrl: `mqtt://127.0.0.1:${port}` }
}

export interface Received {
  topic: string
  payload: string
}

/** A connected MQTT client that records what it receives; closed at teardown. */
export class Device {
  readonly received: Received[] = []
  private waiters: Array<{ pred: (m: Received) => boolean; resolve: (m: Received) => void }> = []

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const m = { topic, payload: payload.toString() }
      this.received.push(m)
      const i = this.waiters.findIndex((w) => w.pred(m))
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m)
    })
  }

  static async connect(t: TapLike, url: string, opts: IClientOptions): Promise<Device> {
    const client = await mqtt.connectAsync(url, { clientId: `t-${uid()}`, reconnectPeriod: 0, connectTimeout: 10_000, ...opts })
    t.teardown(() => client.endAsync(true).catch(() => {}))
    return new Device(client)
  }

  /** The first message (already received or next) matching `pred`. */
  message(pred: (m: Received) => boolean): Promise<Received> {
    const hit = this.received.find(pred)
    if (hit) return Promise.resolve(hit)
    return new Promise((resolve) => this.waiters.push({ pred, resolve }))
  }
}

/** The CONNACK refusal of a connection attempt (its return code), or 0 when accepted. */
export async function connectResult(url: string, opts: IClientOptions): Promise<number> {
  try {
    const c = await mqtt.connectAsync(url, { clientId: `t-${uid()}`, reconnectPeriod: 0, ...opts })
    await c.endAsync(true)
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

export async function storedCount(ta: TestApp, deviceId: number): Promise<number> {
  const rows = await ta.app.db.query<{ n: string }>('select count(*)::text as n from telemetry where device_id = $1', [deviceId])
  return Number(rows[0]!.n)
}
