/**
 * Commands survive a wirehub restart: commands sent over a QoS 0 subscription (no PUBACK, so
 * never DELIVERED) are put back in the queue when the instance shuts down, and a command left
 * SENT by an instance that died (its owner is gone) is sent again; all are delivered and
 * answered after a new instance starts on the same database.
 */
import t from 'tap'
import { freshDatabase } from '../helper.js'
import { api, createDevice, createUser } from '../channels/support.js'
import { Device, mqttApp } from '../mqtt/support.js'
import { until } from '../wait.js'

t.test('queued and unacknowledged commands are delivered after a restart', async (t) => {
  const databaseUrl = await freshDatabase(t)
  const first = await mqttApp(t, { DATABASE_URL: databaseUrl })
  const alice = await createUser(first)
  const dev = await createDevice(first, alice.key)
  const queued = (await api(first, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'queued', timeout: 600 })).body!.attributes

  // A QoS 0 subscription: the command goes out but no PUBACK can come back, so it stays SENT.
  const d1 = await Device.connect(t, first.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d1.client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 0 })
  await d1.message((m) => m.topic === `v1/devices/me/rpc/request/${queued.id}`)
  const unacked = (await api(first, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'unacked', timeout: 600 })).body!.attributes
  await d1.message((m) => m.topic === `v1/devices/me/rpc/request/${unacked.id}`)
  t.equal((await api(first, alice.key, 'GET', `/api/client/devices/${dev.id}/commands/${unacked.id}`)).body!.attributes.state, 'SENT', 'no PUBACK at QoS 0: not DELIVERED')
  await first.app.close()

  const second = await mqttApp(t, { DATABASE_URL: databaseUrl })
  // As a crashed instance would leave it: SENT, owned by a connection that no longer exists.
  await second.app.db.query(`update device_commands set state = 'SENT', owner = 'dead-instance/mqtt/x' where id = $1 and state = 'QUEUED'`, [unacked.id])
  const before = await api(second, alice.key, 'GET', `/api/client/devices/${dev.id}/commands`)
  t.same(before.body!.data.map((c: { attributes: { state: string } }) => c.attributes.state), ['SENT', 'QUEUED'], 'the orphan SENT, the other put back when its connection closed')

  const d2 = await Device.connect(t, second.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d2.client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 })
  for (const c of [queued, unacked]) {
    const req = await d2.message((m) => m.topic === `v1/devices/me/rpc/request/${c.id}`)
    t.equal(JSON.parse(req.payload).method, c.method)
    await d2.client.publishAsync(`v1/devices/me/rpc/response/${c.id}`, JSON.stringify({ ok: c.method }), { qos: 1 })
  }
  const after = await api(second, alice.key, 'GET', `/api/client/devices/${dev.id}/commands`)
  t.same(
    after.body!.data.map((c: { attributes: { id: number; state: string; result: unknown } }) => [c.attributes.id, c.attributes.state, c.attributes.result]),
    [
      [unacked.id, 'SUCCEEDED', { ok: 'unacked' }],
      [queued.id, 'SUCCEEDED', { ok: 'queued' }],
    ],
  )
})

t.test('two instances on one database: a command created on one is delivered once by the instance the device is connected to', async (t) => {
  const databaseUrl = await freshDatabase(t)
  const a = await mqttApp(t, { DATABASE_URL: databaseUrl, NODE_NAME: 'a' })
  const b = await mqttApp(t, { DATABASE_URL: databaseUrl, NODE_NAME: 'b' })
  const alice = await createUser(a)
  const dev = await createDevice(a, alice.key)
  const d = await Device.connect(t, b.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  d.client.on('message', (topic, payload) => {
    const id = topic.split('/').pop()
    d.client.publish(`v1/devices/me/rpc/response/${id}`, payload, { qos: 1 })
  })
  await d.client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 })
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push((await api(a, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'm', params: { i } })).body!.attributes.id)
  for (const id of ids) {
    const c = await until(async () => {
      const r = (await api(a, alice.key, 'GET', `/api/client/devices/${dev.id}/commands/${id}`)).body!.attributes
      return r.state === 'SUCCEEDED' ? r : null
    }, `command ${id} answered`)
    t.same(c.result, { method: 'm', params: { i: ids.indexOf(id) } })
  }
  t.same(d.received.map((m) => Number(m.topic.split('/').pop())), ids, 'each command sent once, in order, by the instance holding the connection')
})
