/**
 * Rule breach → alert stored, then delivered once in the seed's format to matching alert
 * subscribers; hysteresis and cooldown end to end; catching up with since=; acknowledge and
 * resolve; rule CRUD validation; other users see nothing.
 */
import t from 'tap'
import { api, authed, createDevice, createUser, ingest, iotApp } from '../channels/support.js'

t.test('a breach raises one stored alert, delivered once with the seed fields', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key, { name: 'Boiler' })
  const rule = await api(ta, u.key, 'POST', `/api/client/devices/${dev.id}/alert-rules`, {
    metric: 'temperature',
    operator: '>',
    threshold: 30,
    clear_threshold: 28,
    severity: 'critical',
    alert_type: 'temperature_high',
    title: 'High Temperature Alert',
    message: '{{device_name}}: {{metric}} is {{value}}{{unit}}, above {{threshold}}',
    cooldown: 0,
  })
  t.equal(rule.status, 201)
  t.match(rule.body!.attributes, { metric: 'temperature', operator: '>', threshold: 30, clear_threshold: 28, severity: 'critical', cooldown: 0, breached: false })

  const crit = await authed(ta, u.key, '/ws/alerts')
  t.equal((await crit.request({ type: 'subscribe', channel: 'alerts', filters: { severity: ['critical', 'warning'] } }, 'subscribed')).type, 'subscribed')
  const infoOnly = await authed(ta, u.key)
  await infoOnly.request({ type: 'subscribe', channel: 'alerts', severity: 'info' }, 'subscribed')
  const byDevice = await authed(ta, u.key)
  await byDevice.request({ type: 'subscribe', channel: 'alerts', device_id: dev.id, alert_type: ['temperature_high'] }, 'subscribed')
  const stranger = await createUser(ta)
  const strangerSock = await authed(ta, stranger.key)
  await strangerSock.request({ type: 'subscribe', channel: 'alerts' }, 'subscribed')

  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: { value: 25 } } })
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: { value: 32.5, unit: '°C' } } })
  const a = await crit.nextOf('alert')
  t.same(Object.keys(a), ['type', 'channel', 'alert_id', 'device_id', 'severity', 'title', 'message', 'timestamp', 'alert_type', 'metadata'])
  t.match(a, { type: 'alert', channel: 'alerts', device_id: dev.id, severity: 'critical', title: 'High Temperature Alert', message: 'Boiler: temperature is 32.5°C, above 30', alert_type: 'temperature_high' })
  t.match(a.metadata, { threshold_value: 30, actual_value: 32.5 })
  t.type(a.alert_id, 'number')
  const stored = await api(ta, u.key, 'GET', `/api/client/alerts/${a.alert_id}`)
  t.equal(stored.status, 200, 'the alert exists when it is delivered')
  t.match(stored.body!.attributes, { id: a.alert_id, status: 'open', severity: 'critical', title: a.title, created_at: a.timestamp })
  t.equal((await byDevice.nextOf('alert')).alert_id, a.alert_id)

  // Still breached (above the clear threshold): no second alert.
  await ingest(ta, dev.id, dev.deviceKey, { readings: [{ telemetry: { temperature: { value: 29 } } }, { telemetry: { temperature: { value: 31 } } }] })
  t.same(await crit.quiet(), [], 'one long breach, one alert')
  t.same(await infoOnly.quiet(), [], 'severity filter')
  t.same(await strangerSock.quiet(), [], "another user's socket sees nothing")
  // Clear, then breach again: a second alert (cooldown 0).
  await ingest(ta, dev.id, dev.deviceKey, { readings: [{ telemetry: { temperature: { value: 27 } } }, { telemetry: { temperature: { value: 35 } } }] })
  const b = await crit.nextOf('alert')
  t.ok(b.alert_id > a.alert_id)
  t.same(await crit.quiet(), [])

  // Catch-up after a reconnect.
  const since = await api(ta, u.key, 'GET', `/api/client/alerts?since=${a.alert_id}`)
  t.same(since.body!.data.map((d: any) => d.attributes.id), [b.alert_id])
  const all = await api(ta, u.key, 'GET', `/api/client/alerts?severity=critical&device_id=${dev.id}`)
  t.same(all.body!.data.map((d: any) => d.attributes.id), [b.alert_id, a.alert_id], 'newest first')
  t.equal((await api(ta, u.key, 'GET', '/api/client/alerts?severity=info')).body!.meta.pagination.total, 0)
  t.equal((await api(ta, stranger.key, 'GET', '/api/client/alerts')).body!.meta.pagination.total, 0)
  t.equal((await api(ta, stranger.key, 'POST', `/api/client/alerts/${a.alert_id}/acknowledge`)).status, 404)

  const ack = await api(ta, u.key, 'POST', `/api/client/alerts/${a.alert_id}/acknowledge`)
  t.match(ack.body!.attributes, { status: 'acknowledged', acknowledged_by: u.id })
  t.ok(ack.body!.attributes.acknowledged_at)
  const res = await api(ta, u.key, 'POST', `/api/client/alerts/${a.alert_id}/resolve`)
  t.match(res.body!.attributes, { status: 'resolved', resolved_by: u.id })
  t.equal((await api(ta, u.key, 'POST', `/api/client/alerts/${a.alert_id}/acknowledge`)).status, 409)
  t.same((await api(ta, u.key, 'GET', '/api/client/alerts?status=open')).body!.data.map((d: any) => d.attributes.id), [b.alert_id])

  // The rule remembers its breach.
  const r = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/alert-rules/${rule.body!.attributes.id}`)
  t.equal(r.body!.attributes.breached, true)
})

t.test('cooldown end to end, and rule CRUD', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const base = `/api/client/devices/${dev.id}/alert-rules`
  t.equal((await api(ta, u.key, 'POST', base, { metric: 'p', operator: '>', threshold: 1, clear_threshold: 2 })).status, 422, 'clear threshold on the wrong side')
  t.equal((await api(ta, u.key, 'POST', base, { metric: 'p', operator: '!=', threshold: 1 })).status, 422)
  t.equal((await api(ta, u.key, 'POST', base, { metric: 'p', operator: '>', threshold: 'x' })).status, 422)
  const created = await api(ta, u.key, 'POST', base, { metric: 'p', operator: '<', threshold: 10, severity: 'warning', cooldown: 3600 })
  t.equal(created.status, 201)
  t.equal(created.body!.attributes.title, '{{device_name}}: {{metric}} {{operator}} {{threshold}}', 'default template')
  const id = created.body!.attributes.id
  const sock = await authed(ta, u.key)
  await sock.request({ type: 'subscribe', channel: 'alerts' }, 'subscribed')
  await ingest(ta, dev.id, dev.deviceKey, { readings: [{ telemetry: { p: { value: 5 } } }, { telemetry: { p: { value: 15 } } }, { telemetry: { p: { value: 4 } } }] })
  const a = await sock.nextOf('alert')
  t.equal(a.title, `${dev.attributes.name}: p < 10`)
  t.same(await sock.quiet(), [], 'the second breach is inside the cooldown')

  const patched = await api(ta, u.key, 'PATCH', `${base}/${id}`, { cooldown: 0, severity: 'info' })
  t.match(patched.body!.attributes, { cooldown: 0, severity: 'info' })
  t.equal((await api(ta, u.key, 'GET', base)).body!.data.length, 1)
  const other = await createUser(ta)
  t.equal((await api(ta, other.key, 'GET', base)).status, 404, "another user's device rules are not found")
  t.equal((await api(ta, other.key, 'DELETE', `${base}/${id}`)).status, 404)
  t.equal((await api(ta, u.key, 'DELETE', `${base}/${id}`)).status, 204)
  await ingest(ta, dev.id, dev.deviceKey, { readings: [{ telemetry: { p: { value: 50 } } }, { telemetry: { p: { value: 1 } } }] })
  t.same(await sock.quiet(), [], 'a deleted rule raises nothing')
})
