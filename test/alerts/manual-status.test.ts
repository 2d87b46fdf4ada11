/**
 * Acknowledging or resolving an alert by hand publishes `alert_status_update` to the alert's
 * subscribers, as an automatic resolution does: once per change (repeating a call that changes
 * nothing publishes nothing), to the device owner's sockets also when an administrator made the
 * change, through the subscribers' filters, and never to another user.
 */
import t from 'tap'
import { api, authed, createDevice, createUser, ingest, iotApp } from '../channels/support.js'

t.test('manual acknowledge and resolve reach /ws subscribers', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const admin = await createUser(ta, { admin: true })
  const stranger = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const rule = await api(ta, u.key, 'POST', `/api/client/devices/${dev.id}/alert-rules`, { metric: 'temp', operator: '>', threshold: 30, clear_threshold: 25, severity: 'warning', alert_type: 'hot', cooldown: 0 })
  t.equal(rule.status, 201)

  const byDevice = await authed(ta, u.key)
  await byDevice.request({ type: 'subscribe', channel: 'alerts', device_id: dev.id }, 'subscribed')
  const critical = await authed(ta, u.key)
  await critical.request({ type: 'subscribe', channel: 'alerts', severity: 'critical' }, 'subscribed')
  const adminAll = await authed(ta, admin.key)
  await adminAll.request({ type: 'subscribe', channel: 'alerts' }, 'subscribed')
  const strangerSock = await authed(ta, stranger.key)
  await strangerSock.request({ type: 'subscribe', channel: 'alerts' }, 'subscribed')

  // Two alerts: breach, clear, breach.
  await ingest(ta, dev.id, dev.deviceKey, { temp: 35 })
  const first = await byDevice.nextOf('alert')
  await ingest(ta, dev.id, dev.deviceKey, { temp: 20 })
  await ingest(ta, dev.id, dev.deviceKey, { temp: 36 })
  const second = await byDevice.nextOf('alert')

  // Acknowledged by the owner.
  const ack = await api(ta, u.key, 'POST', `/api/client/alerts/${first.alert_id}/acknowledge`)
  t.equal(ack.status, 200)
  const acked = await byDevice.nextOf('alert_status_update')
  t.same(Object.keys(acked), ['type', 'channel', 'alert_id', 'device_id', 'status', 'by', 'automatic', 'timestamp'])
  t.match(acked, { type: 'alert_status_update', channel: 'alerts', alert_id: first.alert_id, device_id: dev.id, status: 'acknowledged', by: u.id, automatic: false })
  t.equal(acked.timestamp, ack.body!.attributes.acknowledged_at, 'the time the row carries')
  t.match(await adminAll.nextOf('alert_status_update'), { alert_id: first.alert_id, status: 'acknowledged' }, 'administrators without a device filter')

  // Acknowledging again changes nothing and publishes nothing.
  t.equal((await api(ta, u.key, 'POST', `/api/client/alerts/${first.alert_id}/acknowledge`)).status, 200)
  // Resolved by an administrator: the owner's sockets get it, naming the administrator.
  const res = await api(ta, admin.key, 'POST', `/api/client/alerts/${first.alert_id}/resolve`)
  t.match(res.body!.attributes, { status: 'resolved', resolved_by: admin.id, acknowledged_by: u.id })
  const resolved = await byDevice.nextOf('alert_status_update')
  t.match(resolved, { alert_id: first.alert_id, status: 'resolved', by: admin.id, automatic: false })
  t.equal(resolved.timestamp, res.body!.attributes.resolved_at)
  t.match(await adminAll.nextOf('alert_status_update'), { alert_id: first.alert_id, status: 'resolved' })
  t.equal((await api(ta, u.key, 'POST', `/api/client/alerts/${first.alert_id}/resolve`)).status, 200, 'resolving again is not an error')

  // An open alert resolved directly (acknowledged on the way, one message).
  await api(ta, u.key, 'POST', `/api/client/alerts/${second.alert_id}/resolve`)
  t.match(await byDevice.nextOf('alert_status_update'), { alert_id: second.alert_id, status: 'resolved', by: u.id, automatic: false })

  t.same((await byDevice.quiet()).filter((m) => m.type === 'alert_status_update'), [], 'one message per change, none for calls that changed nothing')
  t.same((await critical.quiet()).filter((m) => m.type === 'alert_status_update'), [], "the subscriber's severity filter applies")
  t.same(await strangerSock.quiet(), [], "another user's socket sees nothing")
})
