/**
 * Devices over REST (keys returned once and stored hashed, ownership, admin view), ingestion
 * authentication and validation (400 naming the field), and status transitions delivered once
 * on the devices channel: data → online, silence → offline, owner-set maintenance.
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { bearer } from '../helper.js'
import { api, authed, createDevice, createUser, ingest, iotApp } from '../channels/support.js'

t.test('device CRUD, keys and the admin view', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const other = await createUser(ta)
  const created = await api(ta, u.key, 'POST', '/api/client/devices', { name: 'Boiler', type: 'sensor', metadata: { room: 'cellar' }, units: { temperature: '°C' } })
  t.equal(created.status, 201)
  const key: string = created.body!.meta.device_key
  t.match(key, /^whd_[A-Za-z0-9]{12}[A-Za-z0-9]{32}$/)
  const dev = created.body!.attributes
  t.match(dev, { name: 'Boiler', type: 'sensor', metadata: { room: 'cellar' }, units: { temperature: '°C' }, status: 'offline', owner_id: u.id, last_seen_at: null })
  t.type(dev.id, 'number')
  t.equal(dev.key_identifier, key.slice(0, 16))
  const row = await ta.app.prisma.device.findUniqueOrThrow({ where: { id: dev.id } })
  t.equal(row.keySecretHash, createHash('sha256').update(key.slice(16)).digest('hex'), 'only a SHA-256 of the secret is stored')
  t.notOk(JSON.stringify((await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}`)).body).includes(key.slice(16)), 'the secret is never shown again')

  t.equal((await api(ta, u.key, 'GET', '/api/client/devices')).body!.meta.pagination.total, 1)
  t.equal((await api(ta, other.key, 'GET', '/api/client/devices')).body!.meta.pagination.total, 0)
  t.equal((await api(ta, other.key, 'GET', `/api/client/devices/${dev.id}`)).status, 404)
  t.equal((await api(ta, other.key, 'PATCH', `/api/client/devices/${dev.id}`, { name: 'x' })).status, 404)
  t.equal((await api(ta, other.key, 'DELETE', `/api/client/devices/${dev.id}`)).status, 404)
  t.equal((await api(ta, u.key, 'POST', '/api/client/devices', { name: '' })).status, 422)
  t.equal((await api(ta, u.key, 'POST', '/api/client/devices', { name: 'a', units: { 'bad name': 'x' } })).status, 422)

  const patched = await api(ta, u.key, 'PATCH', `/api/client/devices/${dev.id}`, { name: 'Boiler 2', units: { temperature: 'K' } })
  t.match(patched.body!.attributes, { name: 'Boiler 2', units: { temperature: 'K' } })

  const adminList = await ta.app.inject({ method: 'GET', url: '/api/application/devices', headers: bearer(ta.adminKey) })
  t.equal(adminList.json().meta.pagination.total, 1, 'administrators see every device')
  t.equal((await ta.app.inject({ method: 'GET', url: `/api/application/devices/${dev.id}`, headers: bearer(ta.adminKey) })).json().attributes.name, 'Boiler 2')
  t.equal((await api(ta, u.key, 'GET', '/api/application/devices')).status, 403, 'not with a client key')

  // Rotation: the old key stops working at once.
  const rotated = await api(ta, u.key, 'POST', `/api/client/devices/${dev.id}/rotate-key`)
  t.equal((await ingest(ta, dev.id, key, { telemetry: { t: { value: 1 } } })).status, 401)
  t.equal((await ingest(ta, dev.id, rotated.body!.meta.device_key, { telemetry: { t: { value: 1 } } })).status, 201)

  t.equal((await api(ta, u.key, 'DELETE', `/api/client/devices/${dev.id}`)).status, 204)
  t.equal((await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}`)).status, 404)
  t.equal((await ingest(ta, dev.id, rotated.body!.meta.device_key, { telemetry: { t: { value: 1 } } })).status, 401, 'a deleted device cannot ingest')
})

t.test('ingestion: device keys only, and a 400 naming the field for every bad body', async (t) => {
  const ta = await iotApp(t, { TELEMETRY_MAX_READINGS: '3' })
  const u = await createUser(ta)
  const a = await createDevice(ta, u.key)
  const b = await createDevice(ta, u.key)
  const ok = { telemetry: { t: { value: 1 } } }
  t.equal((await ingest(ta, a.id, b.deviceKey, ok)).status, 403, "another device's key")
  t.equal((await ingest(ta, a.id, a.deviceKey.slice(0, -1) + (a.deviceKey.endsWith('A') ? 'B' : 'A'), ok)).status, 401, 'wrong secret')
  t.equal((await ingest(ta, a.id, u.key, ok)).status, 401, 'an API key is not a device key')
  const noAuth = await fetch(`${ta.url}/api/devices/${a.id}/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ok) })
  t.equal(noAuth.status, 401)

  const cases: Array<[unknown, string]> = [
    [{}, 'telemetry'],
    [{ telemetry: { t: { value: 1 } }, readings: [ok] }, 'telemetry'],
    [{ telemetry: { t: { value: '23.5' } } }, 'telemetry.t.value'],
    [{ telemetry: { t: { value: null } } }, 'telemetry.t.value'],
    [{ telemetry: { t: {} } }, 'telemetry.t.value'],
    ['{"telemetry":{"t":{"value":1e999}}}', 'telemetry.t.value'],
    [{ telemetry: { t: { value: 1, timestamp: 'yesterday' } } }, 'telemetry.t.timestamp'],
    [{ telemetry: { t: { value: 1, colour: 'red' } } }, 'telemetry.t.colour'],
    [{ telemetry: { 'bad name!': { value: 1 } } }, 'telemetry.bad name!'],
    [{ telemetry: {} }, 'telemetry'],
    [{ readings: [] }, 'readings'],
    [{ readings: [ok, ok, ok, ok] }, 'readings'],
    [{ readings: [ok, { telemetry: { t: { value: true } } }] }, 'readings.1.telemetry.t.value'],
    [{ extra: 1, telemetry: { t: { value: 1 } } }, 'extra'],
  ]
  for (const [body, field] of cases) {
    const res = await ingest(ta, a.id, a.deviceKey, body)
    t.equal(res.status, 400, `400 for ${typeof body === 'string' ? body : JSON.stringify(body)}`)
    t.equal(res.body.errors?.[0]?.meta?.source_field, field, `names ${field}: ${res.body.errors?.[0]?.detail}`)
  }
  const proto = await ingest(ta, a.id, a.deviceKey, '{"telemetry":{"__proto__":{"value":1}}}')
  t.equal(proto.status, 400, 'prototype keys refused')
  const bad = await ingest(ta, a.id, a.deviceKey, '{"telemetry":')
  t.equal(bad.status, 400, 'malformed JSON')
  t.equal((await ingest(ta, a.id, a.deviceKey, { readings: [ok, ok, ok] })).status, 201, 'exactly the limit is fine')
  const count = await ta.app.db.query<{ n: string }>('select count(*) as n from telemetry where device_id = $1', [a.id])
  t.equal(Number(count[0]!.n), 3, 'nothing from refused requests was stored')
})

t.test('status: data → online, silence → offline once, owner maintenance', async (t) => {
  const ta = await iotApp(t, { DEVICE_OFFLINE_AFTER: '1' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const sock = await authed(ta, u.key, '/ws/devices')
  t.equal((await sock.request({ type: 'subscribe', channel: 'devices', filters: { device_id: [dev.id], status_types: ['online', 'offline', 'maintenance'] } }, 'subscribed')).type, 'subscribed')
  const stranger = await authed(ta, (await createUser(ta)).key)
  await stranger.request({ type: 'subscribe', channel: 'devices' }, 'subscribed')

  const before = Date.now()
  await Promise.all([1, 2, 3].map((v) => ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: v } } })))
  const online = await sock.nextOf('device_status_update')
  t.same(Object.keys(online), ['type', 'channel', 'device_id', 'old_status', 'new_status', 'timestamp', 'reason', 'metadata'])
  t.match(online, { channel: 'devices', device_id: dev.id, old_status: 'offline', new_status: 'online', reason: 'Data received' })

  const offline = await sock.nextOf('device_status_update')
  t.match(offline, { device_id: dev.id, old_status: 'online', new_status: 'offline', reason: 'Connection lost' })
  t.ok(Date.parse(offline.metadata.last_seen) >= before - 5, 'metadata.last_seen is the last reading')
  t.same((await sock.quiet()).filter((m) => m.type === 'device_status_update'), [], 'one message per transition, no flapping')
  t.same(await stranger.quiet(), [])

  const events = await ta.app.prisma.deviceStatusEvent.findMany({ where: { deviceId: dev.id }, orderBy: { id: 'asc' } })
  t.same(events.map((e) => `${e.oldStatus}>${e.newStatus}`), ['offline>online', 'online>offline'], 'each transition persisted')
  t.equal((await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}`)).body!.attributes.status, 'offline')

  const m = await api(ta, u.key, 'PATCH', `/api/client/devices/${dev.id}`, { status: 'maintenance', status_reason: 'Replacing the sensor' })
  t.equal(m.body!.attributes.status, 'maintenance')
  t.match(await sock.nextOf('device_status_update'), { old_status: 'offline', new_status: 'maintenance', reason: 'Replacing the sensor' })
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: 4 } } })
  t.same(await sock.quiet(), [], 'data does not end maintenance')
  await api(ta, u.key, 'PATCH', `/api/client/devices/${dev.id}`, { status: 'warning' })
  t.same(await sock.quiet(), [], 'warning is filtered out by status_types')
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: 5 } } })
  await api(ta, u.key, 'PATCH', `/api/client/devices/${dev.id}`, { status: 'online' })
  t.match(await sock.nextOf('device_status_update'), { old_status: 'warning', new_status: 'online' })
})
