/**
 * External broker mode against the machine's real Mosquitto: two wirehub instances on one
 * database subscribe with one MQTT 5 shared subscription, so each reading a device publishes is
 * stored exactly once whichever instance takes it; commands go out through the broker while the
 * device reports itself online. Topic prefix and share group are unique to this test run so
 * parallel test files sharing Mosquitto never see each other's messages.
 */
import t from 'tap'
import { build, freshDatabaseUrl } from './external-support.js'
import { api, authed, createDevice, createUser } from '../channels/support.js'
import { until } from '../wait.js'
import { Device, storedCount, uid } from './support.js'

const BROKER = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'

t.test('two instances, one shared subscription: every reading stored once; commands through the broker', async (t) => {
  const prefix = `wht/${uid()}/devices`
  const databaseUrl = await freshDatabaseUrl(t)
  // Redis carries the channel publications between the instances (the README's scale-out set-up).
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `wht-mqtt-${uid()}:`,
    MQTT_URL: BROKER,
    MQTT_TOPIC_PREFIX: prefix,
    MQTT_SHARE_GROUP: `g${uid()}`,
    COMMAND_POLL_INTERVAL_MS: '100',
  }
  const a = await build(t, { ...env, NODE_NAME: 'a' })
  const b = await build(t, { ...env, NODE_NAME: 'b' })
  t.equal(a.app.mqtt.mode, 'external')

  const counts = { a: 0, b: 0 }
  for (const [name, inst] of [['a', a], ['b', b]] as const) {
    const ingest = inst.app.devices.ingest
    const orig = ingest.ingest.bind(ingest)
    ingest.ingest = (device, body) => {
      counts[name]++
      return orig(device, body)
    }
  }

  const alice = await createUser(a)
  const dev = await createDevice(a, alice.key)
  // The device speaks to Mosquitto only (its own auth there); the device id is in the topic.
  const d = await Device.connect(t, BROKER, { protocolVersion: 5, will: { topic: `${prefix}/${dev.id}/status`, payload: Buffer.from('offline'), qos: 1 } })
  const N = 40
  for (let i = 0; i < N; i++) {
    await d.client.publishAsync(`${prefix}/${dev.id}/telemetry`, JSON.stringify({ telemetry: { seq: { value: i } } }), { qos: 1 })
  }
  await d.client.publishAsync(`${prefix}/${dev.id}/telemetry`, JSON.stringify({ readings: [{ telemetry: { seq: { value: 100 } } }, { telemetry: { seq: { value: 101 } } }] }), { qos: 1 })
  await until(async () => (await storedCount(a, dev.id)) >= N + 2, 'every reading stored')
  const rows = await a.app.db.query<{ n: string; d: string }>(`select count(*)::text as n, count(distinct value)::text as d from telemetry where device_id = $1`, [dev.id])
  t.same(rows[0], { n: String(N + 2), d: String(N + 2) }, 'each reading stored exactly once')
  t.equal(counts.a + counts.b, N + 1, 'each message ingested by exactly one instance')
  t.ok(counts.a > 0 && counts.b > 0, `both instances took messages (a ${counts.a}, b ${counts.b})`)

  // A payload that cannot be stored is dropped whole and does not block the ones behind it.
  await d.client.publishAsync(`${prefix}/${dev.id}/telemetry`, '{"readings":[{"telemetry":{"ok":{"value":1}}},{"telemetry":{"bad":{}}}]}', { qos: 1 })
  await d.client.publishAsync(`${prefix}/${dev.id}/telemetry`, JSON.stringify({ telemetry: { after: { value: 1 } } }), { qos: 1 })
  await until(async () => (await storedCount(a, dev.id)) === N + 3, 'the reading after the bad payload')

  // Commands: queued while the device has not said it is online, then sent through the broker.
  const sock = await authed(b, alice.key)
  await sock.request({ type: 'subscribe', channel: 'commands', device_id: dev.id }, 'subscribed')
  const cmd = (await api(a, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'ping', params: { n: 1 } })).body!.attributes
  t.equal(cmd.state, 'QUEUED')
  await d.client.subscribeAsync(`${prefix}/${dev.id}/rpc/request/+`, { qos: 1 })
  await d.client.publishAsync(`${prefix}/${dev.id}/status`, 'online', { qos: 1 })
  const req = await d.message((m) => m.topic === `${prefix}/${dev.id}/rpc/request/${cmd.id}`)
  t.same(JSON.parse(req.payload), { method: 'ping', params: { n: 1 } })
  await d.client.publishAsync(`${prefix}/${dev.id}/rpc/ack/${cmd.id}`, '', { qos: 1 })
  await d.client.publishAsync(`${prefix}/${dev.id}/rpc/response/${cmd.id}`, JSON.stringify({ pong: true }), { qos: 1 })
  const done = await sock.next((m) => m.type === 'command_update' && m.state === 'SUCCEEDED')
  t.same(done.command.result, { pong: true })
  t.same(
    sock.messages.filter((m) => m.type === 'command_update').map((m) => m.state),
    ['QUEUED', 'SENT', 'DELIVERED', 'SUCCEEDED'],
    'each transition once, seen from the other instance',
  )

  // The will: the device's connection dies, the broker publishes "offline".
  ;(d.client.stream as unknown as { destroy(): void }).destroy()
  await until(async () => (await api(a, alice.key, 'GET', `/api/client/devices/${dev.id}`)).body!.attributes.status === 'offline', 'offline after the will')
})

