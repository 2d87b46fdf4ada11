/**
 * The embedded broker's limits and start-up: the packet-length scanner (pure), an oversize
 * PUBLISH closing the connection before it is buffered, a device over its message rate slowed
 * down but not losing anything, and a taken MQTT port leaving the rest of wirehub running.
 */
import t from 'tap'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { PacketLengthScanner } from '../../src/modules/mqtt/mqtt.packet-guard.js'
import { createDevice, createUser, iotApp } from '../channels/support.js'
import { Device, mqttApp, storedCount } from './support.js'

t.test('the scanner follows packet boundaries across chunks and flags the first oversize one', async (t) => {
  const s = new PacketLengthScanner(100)
  // PINGREQ (0xc0 0x00), then a PUBLISH of 90 bytes split over three chunks.
  t.equal(s.feed(Buffer.from([0xc0, 0x00, 0x30, 90])), null)
  t.equal(s.feed(Buffer.alloc(50)), null)
  t.equal(s.feed(Buffer.alloc(40)), null)
  // A two-byte remaining length: 200 = 0xc8 0x01, announced before any body byte.
  t.equal(s.feed(Buffer.from([0x30, 0xc8])), null)
  t.equal(s.feed(Buffer.from([0x01])), 1 + 2 + 200)
  const bad = new PacketLengthScanner(1 << 30)
  t.equal(bad.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])), -1, 'a length of more than four bytes is malformed')
})

t.test('an oversize packet closes the connection and nothing is stored', async (t) => {
  const ta = await mqttApp(t, { MQTT_MAX_PACKET_BYTES: '2048' })
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  const closed = new Promise<void>((r) => d.client.once('close', () => r()))
  const readings = Array.from({ length: 100 }, (_, i) => ({ telemetry: { m: { value: i } } }))
  d.client.publish('v1/devices/me/telemetry', JSON.stringify({ readings }), { qos: 1 })
  await closed
  t.equal(await storedCount(ta, dev.id), 0)
})

t.test('a device over MQTT_MESSAGES_PER_SECOND is slowed down, not dropped', async (t) => {
  const ta = await mqttApp(t, { MQTT_MESSAGES_PER_SECOND: '5' })
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await Promise.all(Array.from({ length: 12 }, (_, i) => d.client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ telemetry: { n: { value: i } } }), { qos: 1 })))
  t.equal(await storedCount(ta, dev.id), 12, 'every message stored and acknowledged')
  t.ok(d.client.connected, 'still connected')
})

t.test('a taken MQTT port: a warning, no broker, and the rest of wirehub runs', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => new Promise((r) => blocker.close(r)))
  const port = (blocker.address() as { port: number }).port
  const ta = await iotApp(t, { MQTT_ENABLED: 'true', MQTT_PORT: String(port) })
  t.equal(ta.app.mqtt.port, null)
  t.equal(ta.app.mqtt.mode, 'off')
  const res = await fetch(`${ta.url}/health`)
  t.equal(res.status, 200)
})
