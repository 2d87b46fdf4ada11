/**
 * The whole path, HTTP ingestion to channel sockets: a batch of readings (one publication per
 * reading) leaves in one write on each subscriber's TCP socket, the socket's writes counted by
 * wrapping its `_write`/`_writev`, and every reading still arrives as its own message, in order.
 */
import t from 'tap'
import type { Socket } from 'node:net'
import { authed, createDevice, createUser, ingest, iotApp } from './support.js'

t.test('a batch of 100 readings: one write per subscriber socket, 100 messages in order', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const socks = [await authed(ta, u.key), await authed(ta, u.key)]
  for (const s of socks) await s.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')
  t.equal(ta.app.hub.connections.size, 2)

  let writes = 0
  for (const conn of ta.app.hub.connections) {
    const socket = (conn.ws as unknown as { _socket: Socket & { _write: Function; _writev: Function } })._socket
    const write = socket._write
    const writev = socket._writev
    socket._write = function (this: Socket, ...args: unknown[]) {
      writes++
      return write.apply(this, args)
    }
    socket._writev = function (this: Socket, ...args: unknown[]) {
      writes++
      return writev.apply(this, args)
    }
  }

  const readings = Array.from({ length: 100 }, (_, i) => ({ telemetry: { temperature: { value: i } } }))
  const res = await ingest(ta, dev.id, dev.deviceKey, { readings })
  t.equal(res.status, 201)
  for (const s of socks) {
    const values: number[] = []
    for (let i = 0; i < 100; i++) values.push((await s.nextOf('telemetry_update')).telemetry.temperature.value)
    t.same(values, readings.map((r) => r.telemetry.temperature.value), 'every reading its own message, in order')
  }
  t.equal(writes, 2, 'one write on each of the two sockets for 100 publications')
})
