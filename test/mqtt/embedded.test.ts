/**
 * Devices on the embedded broker: telemetry in the HTTP bodies (one reading, batches) stored and
 * streamed, QoS 1 PUBACK only after the commit, wrong keys refused at CONNECT, ThingsBoard's
 * token-as-username, bad payloads acknowledged and dropped whole, topics outside the device API
 * refused, and online/offline following the connection and its will.
 */
import t from 'tap'
import pg from 'pg'
import { api, authed, createDevice, createUser } from '../channels/support.js'
import { until } from '../wait.js'
import { Device, connectResult, mqttApp, storedCount } from './support.js'

t.test('QoS 1 telemetry is stored before its PUBACK, single readings and batches, and streamed', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const sock = await authed(ta, alice.key)
  await sock.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')

  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { temperature: { value: 21.5, unit: '°C' } } }), { qos: 1 })
  t.equal(await storedCount(ta, dev.id), 1, 'stored when the PUBACK arrives')
  const update = await sock.nextOf('telemetry_update')
  t.same(update.telemetry.temperature.value, 21.5)

  const readings = Array.from({ length: 50 }, (_, i) => ({ timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), telemetry: { a: { value: i }, b: { value: -i } } }))
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ readings }), { qos: 1 })
  t.equal(await storedCount(ta, dev.id), 101, 'a batch of 50 readings × 2 metrics, all stored before its PUBACK')

  const hist = await api(ta, alice.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=a&limit=100`)
  t.equal(hist.body!.data.length, 50)
})

t.test('wrong credentials are refused at CONNECT; the ThingsBoard access-token form is accepted', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const other = await createDevice(ta, alice.key)
  const wrongKey = dev.deviceKey.slice(0, -1) + (dev.deviceKey.endsWith('A') ? 'B' : 'A')
  t.equal(await connectResult(ta.mqttUrl, { username: String(dev.id), password: wrongKey }), 4, 'wrong secret: bad username or password')
  t.equal(await connectResult(ta.mqttUrl, { username: String(other.id), password: dev.deviceKey }), 4, "another device's key")
  t.equal(await connectResult(ta.mqttUrl, {}), 4, 'no credentials')
  t.equal(await connectResult(ta.mqttUrl, { username: 'admin', password: 'admin' }), 4)
  t.equal(await connectResult(ta.mqttUrl, { username: dev.deviceKey }), 0, 'device key as username, no password (ThingsBoard)')

  const d = await Device.connect(t, ta.mqttUrl, { username: dev.deviceKey })
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { x: { value: 1 } } }), { qos: 1 })
  t.equal(await storedCount(ta, dev.id), 1)
})

t.test('a bad payload is acknowledged, reported on the errors topic and nothing of it is stored', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.subscribeAsync('v1/devices/me/errors', { qos: 0 })

  await d.client.publishAsync('v1/devices/me/telemetry', '{"telemetry":', { qos: 1 })
  t.match(JSON.parse((await d.message((m) => m.topic === 'v1/devices/me/errors')).payload), { topic: 'v1/devices/me/telemetry', error: 'not valid JSON' })
  // One good reading and one bad one in a batch: the whole batch is refused.
  const batch = { readings: [{ telemetry: { ok: { value: 1 } } }, { telemetry: { bad: { value: 'NaN' } } }] }
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify(batch), { qos: 1 })
  const err = await d.message((m) => m.topic === 'v1/devices/me/errors' && m.payload.includes('readings'))
  t.match(JSON.parse(err.payload).error, /^readings\.1\.telemetry\.bad\.value: /)
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { __proto__: { value: 1 } } }).replace('"telemetry":{}', '"telemetry":{"__proto__":{"value":1}}'), { qos: 1 })
  t.equal(await storedCount(ta, dev.id), 0, 'nothing half-stored')

  // The connection is still usable.
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { ok: { value: 2 } } }), { qos: 1 })
  t.equal(await storedCount(ta, dev.id), 1)

  // Subscribing outside the device API is refused; publishing there closes the connection.
  const refused = await d.client.subscribeAsync('v1/devices/+/telemetry', { qos: 1 }).then(
    () => null,
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
  )
  t.same(refused, [128], 'SUBACK failure')
  const closed = new Promise<void>((r) => d.client.once('close', () => r()))
  d.client.publish('somewhere/else', 'x', { qos: 1 })
  await closed
  t.pass('publishing to another topic closed the connection')
})

t.test('online while connected, offline when the connection ends or its will says so', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const sock = await authed(ta, alice.key)
  await sock.request({ type: 'subscribe', channel: 'devices', device_id: dev.id }, 'subscribed')

  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  const on = await sock.nextOf('device_status_update')
  t.match(on, { old_status: 'offline', new_status: 'online' })
  await d.client.endAsync()
  const off = await sock.nextOf('device_status_update')
  t.match(off, { old_status: 'online', new_status: 'offline', reason: 'Disconnected' })

  // A connection that dies: the will ("offline" on the status topic) and the close agree.
  const w = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey, will: { topic: 'v1/devices/me/status', payload: Buffer.from('offline'), qos: 1, retain: false } })
  t.match(await sock.nextOf('device_status_update'), { new_status: 'online' })
  ;(w.client.stream as unknown as { destroy(): void }).destroy()
  const lost = await sock.nextOf('device_status_update')
  t.match(lost, { old_status: 'online', new_status: 'offline' })
  t.match(lost.reason, /Connection lost \(will message\)|Disconnected/)
  t.same(await sock.quiet(), [], 'one offline transition, not two')
  const row = await until(async () => (await api(ta, alice.key, 'GET', `/api/client/devices/${dev.id}`)).body!.attributes, 'device row')
  t.equal(row.status, 'offline')
})

t.test('no PUBACK while the database refuses the write; the connection closes and nothing is stored', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { n: { value: 1 } } }), { qos: 1 })

  // The telemetry table refuses inserts; device lookups still work (so the failure is the write).
  await ta.app.db.query(`create or replace function wh_test_refuse() returns trigger language plpgsql as $$ begin raise exception 'refused by test'; end $$`)
  await ta.app.db.query('create trigger wh_test_refuse before insert on telemetry for each statement execute function wh_test_refuse()')
  let acked = false
  const closed = new Promise<void>((r) => d.client.once('close', () => r()))
  d.client.publish('v1/devices/me/telemetry', JSON.stringify({ telemetry: { n: { value: 2 } } }), { qos: 1 }, (err) => {
    if (!err) acked = true
  })
  await closed
  t.equal(acked, false, 'no PUBACK for readings that were not committed')
  await ta.app.db.query('drop trigger wh_test_refuse on telemetry')
  t.equal(await storedCount(ta, dev.id), 1, 'only the first reading')
})

t.test('no PUBACK while the database connection is gone (backends terminated, connections refused); resent after, stored once', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { n: { value: 1 } } }), { qos: 1 })

  const dbName = new URL(ta.config.DATABASE_URL!).pathname.slice(1)
  const root = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' })
  await root.connect()
  t.teardown(async () => {
    await root.query(`alter database "${dbName}" allow_connections true`).catch(() => {})
    await root.end()
  })
  await root.query(`alter database "${dbName}" allow_connections false`)
  await root.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName])

  let acked = false
  const closed = new Promise<void>((r) => d.client.once('close', () => r()))
  d.client.publish('v1/devices/me/telemetry', JSON.stringify({ telemetry: { n: { value: 2 } } }), { qos: 1 }, (err) => {
    if (!err) acked = true
  })
  await closed
  t.equal(acked, false, 'no PUBACK without a commit')

  await root.query(`alter database "${dbName}" allow_connections true`)
  // The device sends it again after reconnecting (here: a fresh connection, as firmware would).
  const again = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await again.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { n: { value: 2 } } }), { qos: 1 })
  const rows = await ta.app.db.query<{ value: number }>('select value from telemetry where device_id = $1 order by value', [dev.id])
  t.same(rows.map((r) => Number(r.value)), [1, 2], 'each reading stored once')
})
