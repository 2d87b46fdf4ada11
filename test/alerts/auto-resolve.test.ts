/**
 * Alerts that clear themselves: with `auto_resolve`, the open alert is resolved when the value
 * goes back past the clear threshold, and subscribers get `alert_status_update`; without it the
 * alert stays open. Rule state (in breach, last firing for the cooldown) survives a restart: a
 * breach that continues across a restart raises no second alert.
 */
import t from 'tap'
import { build, freshDatabase } from '../helper.js'
import { api, authed, createDevice, createUser, ingest } from '../channels/support.js'

t.test('auto-resolve, published; rule state survives a restart', async (t) => {
  const databaseUrl = await freshDatabase(t)
  const env = { DATABASE_URL: databaseUrl, WS_CONNECTIONS_PER_MINUTE: '1000', RATE_LIMIT_MAX: '100000' }
  const first = await build(t, { listen: true, env })
  const u = await createUser(first)
  const dev = await createDevice(first, u.key)
  const rule = (body: object) => api(first, u.key, 'POST', `/api/client/devices/${dev.id}/alert-rules`, { metric: 'temp', operator: '>', threshold: 30, clear_threshold: 25, ...body })
  const auto = await rule({ auto_resolve: true, alert_type: 'auto' })
  t.equal(auto.status, 201)
  t.equal(auto.body!.attributes.auto_resolve, true)
  t.equal((await rule({ alert_type: 'manual' })).body!.attributes.auto_resolve, false, 'default: stays open')

  const sock = await authed(first, u.key)
  await sock.request({ type: 'subscribe', channel: 'alerts', device_id: dev.id }, 'subscribed')
  await ingest(first, dev.id, dev.deviceKey, { temp: 35 })
  const raised = [await sock.nextOf('alert'), await sock.nextOf('alert')]
  const autoAlert = raised.find((a) => a.alert_type === 'auto')!
  await ingest(first, dev.id, dev.deviceKey, { temp: 28 })
  const quiet = await sock.quiet()
  t.same(quiet.filter((m) => m.type === 'alert_status_update'), [], 'between the thresholds (hysteresis): still open')
  await ingest(first, dev.id, dev.deviceKey, { temp: 20 })
  const update = await sock.nextOf('alert_status_update')
  t.same({ id: update.alert_id, status: update.status, automatic: update.automatic, by: update.by }, { id: autoAlert.alert_id, status: 'resolved', automatic: true, by: null })
  const list = await api(first, u.key, 'GET', `/api/client/alerts?device_id=${dev.id}`)
  const statuses = Object.fromEntries(list.body!.data.map((a: any) => [a.attributes.alert_type, a.attributes.status]))
  t.same(statuses, { auto: 'resolved', manual: 'open' }, 'only the auto-resolving rule resolved its alert')

  // A new breach, then a restart in the middle of it.
  await ingest(first, dev.id, dev.deviceKey, { temp: 40 })
  t.equal((await api(first, u.key, 'GET', `/api/client/alerts?device_id=${dev.id}&status=open`)).body!.data.length, 1, 'the manual rule is in cooldown; the auto rule raised nothing new yet (cooldown)')
  sock.close()
  await first.app.close()
  const second = await build(t, { listen: true, env })
  await ingest(second, dev.id, dev.deviceKey, { temp: 41 })
  await ingest(second, dev.id, dev.deviceKey, { temp: 42 })
  const after = await api(second, u.key, 'GET', `/api/client/devices/${dev.id}/alert-rules`)
  t.same(after.body!.data.map((r: any) => r.attributes.breached), [true, true], 'breach state came back from the database')
  t.equal((await api(second, u.key, 'GET', `/api/client/alerts?device_id=${dev.id}`)).body!.data.length, 2, 'no new alert for a breach that continued across the restart')
})
