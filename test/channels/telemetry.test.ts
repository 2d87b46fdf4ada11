/**
 * Ingest over HTTP → `telemetry_update` on channel sockets: device and "all my devices"
 * subscriptions, metric subsets, other users' devices refused and never delivered, batches, and
 * the history endpoint reading back what was stored.
 */
import t from 'tap'
import { authed, createDevice, createUser, ingest, iotApp, api } from './support.js'

t.test('telemetry reaches filtered subscribers, only them, in the seed format', async (t) => {
  const ta = await iotApp(t)
  const alice = await createUser(ta)
  const bob = await createUser(ta)
  const dev = await createDevice(ta, alice.key, { units: { humidity: '%' } })
  const other = await createDevice(ta, alice.key)
  const bobDev = await createDevice(ta, bob.key)

  const tempOnly = await authed(ta, alice.key)
  const ack = await tempOnly.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id, filters: { metrics: ['temperature'] } }, 'subscribed')
  t.same(ack, { type: 'subscribed', channel: 'telemetry', device_id: dev.id, filters: { metrics: ['temperature'], frequency: 'real-time' } })

  const allMine = await authed(ta, alice.key, '/ws/telemetry')
  t.equal((await allMine.request({ type: 'subscribe', channel: 'telemetry' }, 'subscribed')).device_id, null)

  const bobSock = await authed(ta, bob.key)
  await bobSock.request({ type: 'subscribe', channel: 'telemetry' }, 'subscribed')
  const refused = await bobSock.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')
  t.same(refused, { type: 'error', code: 'device_not_found', message: `Device ${dev.id} does not exist or does not belong to you.` })

  const ts = '2024-01-01T12:00:00.000Z'
  const res = await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: { value: 23.5, unit: '°C', timestamp: ts }, humidity: { value: 45.2 } } })
  t.equal(res.status, 201)
  t.same(res.body, { object: 'telemetry_receipt', attributes: { device_id: dev.id, readings: 1, stored: 2 } })

  const full = await allMine.nextOf('telemetry_update')
  t.equal(full.channel, 'telemetry')
  t.equal(full.device_id, dev.id)
  t.same(full.telemetry.temperature, { value: 23.5, unit: '°C', timestamp: ts })
  t.equal(full.telemetry.humidity.value, 45.2)
  t.equal(full.telemetry.humidity.unit, '%', 'unit from the device when the reading has none')
  t.match(full.telemetry.humidity.timestamp, /^\d{4}-\d\d-\d\dT/)
  t.same(Object.keys(full), ['type', 'channel', 'device_id', 'telemetry'])

  const subset = await tempOnly.nextOf('telemetry_update')
  t.same(Object.keys(subset.telemetry), ['temperature'], 'only the subscribed metrics')

  // A reading with none of the subscribed metrics reaches the unfiltered subscriber only.
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { humidity: { value: 50 } } })
  t.same((await allMine.nextOf('telemetry_update')).telemetry.humidity.value, 50)
  t.same(await tempOnly.quiet(), [], 'nothing for a subset without matching metrics')
  // Another device of alice: all-mine gets it, the device-filtered socket does not.
  await ingest(ta, other.id, other.deviceKey, { telemetry: { temperature: { value: 1 } } })
  t.equal((await allMine.nextOf('telemetry_update')).device_id, other.id)
  t.same(await tempOnly.quiet(), [])
  t.same(await bobSock.quiet(), [], "bob never sees alice's telemetry")

  // Bob's own device reaches bob only.
  await ingest(ta, bobDev.id, bobDev.deviceKey, { telemetry: { x: { value: 2 } } })
  t.equal((await bobSock.nextOf('telemetry_update')).device_id, bobDev.id)
  t.same(await allMine.quiet(), [])

  // Admins without a device filter see every device.
  const admin = await authed(ta, (await createUser(ta, { admin: true })).key)
  await admin.request({ type: 'subscribe', channel: 'telemetry', filters: { device_id: [bobDev.id, dev.id] } }, 'subscribed')
  await ingest(ta, bobDev.id, bobDev.deviceKey, { telemetry: { x: { value: 3 } } })
  t.equal((await admin.nextOf('telemetry_update')).device_id, bobDev.id)
})

t.test('batches: every reading stored and published in order; history reads them back', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const sock = await authed(ta, u.key)
  await sock.request({ type: 'subscribe', channel: 'telemetry', device_id: [dev.id] }, 'subscribed')
  const readings = Array.from({ length: 5 }, (_, i) => ({
    timestamp: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString(),
    telemetry: { temperature: { value: 20 + i }, humidity: { value: 40 + i, timestamp: new Date(Date.UTC(2024, 0, 1, 0, i, 30)).toISOString() } },
  }))
  const res = await ingest(ta, dev.id, dev.deviceKey, { readings })
  t.same(res.body.attributes, { device_id: dev.id, readings: 5, stored: 10 })
  for (let i = 0; i < 5; i++) t.equal((await sock.nextOf('telemetry_update')).telemetry.temperature.value, 20 + i)

  const hist = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=temperature`)
  t.equal(hist.status, 200)
  t.same(hist.body!.data.map((d: any) => d.attributes.value), [20, 21, 22, 23, 24], 'oldest first')
  t.same(hist.body!.data[0], { object: 'telemetry_reading', attributes: { metric: 'temperature', value: 20, unit: null, timestamp: '2024-01-01T00:00:00.000Z' } })
  const limited = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=humidity&limit=2`)
  t.same(limited.body!.data.map((d: any) => d.attributes.value), [43, 44], 'the latest `limit`')
  const ranged = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?from=2024-01-01T00:01:00Z&to=2024-01-01T00:02:00Z`)
  t.same(ranged.body!.data.map((d: any) => `${d.attributes.metric}=${d.attributes.value}`), ['temperature=21', 'humidity=41'])

  const buckets = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=temperature&interval=2m&from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z`)
  t.same(
    buckets.body!.data.map((d: any) => d.attributes),
    [
      { metric: 'temperature', bucket: '2024-01-01T00:00:00.000Z', min: 20, max: 21, avg: 20.5, count: 2, last: 21 },
      { metric: 'temperature', bucket: '2024-01-01T00:02:00.000Z', min: 22, max: 23, avg: 22.5, count: 2, last: 23 },
      { metric: 'temperature', bucket: '2024-01-01T00:04:00.000Z', min: 24, max: 24, avg: 24, count: 1, last: 24 },
    ],
  )
  const stranger = await createUser(ta)
  t.equal((await api(ta, stranger.key, 'GET', `/api/client/devices/${dev.id}/telemetry`)).status, 404, "another user's history is not found")
})

t.test('frequency bounds the per-device rate: the latest reading inside the interval wins', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const sock = await authed(ta, u.key)
  await sock.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id, filters: { frequency: '200ms' } }, 'subscribed')
  // One request, so all four fall inside the interval however slow the machine is.
  await ingest(ta, dev.id, dev.deviceKey, { readings: [1, 2, 3, 4].map((i) => ({ telemetry: { v: { value: i } } })) })
  t.equal((await sock.nextOf('telemetry_update')).telemetry.v.value, 1, 'the first goes out at once')
  t.equal((await sock.nextOf('telemetry_update')).telemetry.v.value, 4, 'then only the latest of the interval')
})
