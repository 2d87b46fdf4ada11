/**
 * The SDK's device commands against a real wirehub and a real MQTT device: send (QUEUED while
 * the device is offline), subscribe (every state change once, in order), result() resolving
 * with the device's answer, list and cancel (409 surfaced as WirehubHttpError).
 */
import t from 'tap'
import type { CommandUpdate } from '../../packages/client/src/index.js'
import { WirehubHttpError } from '../../packages/client/src/index.js'
import { createDevice, createUser } from '../channels/support.js'
import { Device, mqttApp } from '../mqtt/support.js'
import { sdkClient } from './support.js'

t.test('send, subscribe, result, list, cancel', async (t) => {
  const ta = await mqttApp(t, { ALLOWED_ORIGINS: '*' })
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const client = sdkClient(t, ta.url, alice.key)

  const updates: CommandUpdate[] = []
  const subscribed = new Promise<void>((r) => {
    const off = client.channels().on('subscribed', (a) => {
      if (a.channel === 'commands') {
        off()
        r()
      }
    })
  })
  client.commands.subscribe(dev.id, (u) => updates.push(u))
  await subscribed

  const cmd = await client.commands.send(dev.id, 'blink', { times: 3 }, { timeout: 300 })
  t.equal(cmd.state, 'QUEUED')
  const result = client.commands.result(dev.id, cmd.id)

  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 })
  const req = await d.message((m) => m.topic.endsWith(`/${cmd.id}`))
  t.same(JSON.parse(req.payload), { method: 'blink', params: { times: 3 } })
  await d.client.publishAsync(`v1/devices/me/rpc/response/${cmd.id}`, JSON.stringify({ blinked: 3 }), { qos: 1 })
  const done = await result
  t.match(done, { id: cmd.id, state: 'SUCCEEDED', result: { blinked: 3 } })
  t.same(updates.filter((u) => u.command.id === cmd.id).map((u) => u.state), ['QUEUED', 'SENT', 'DELIVERED', 'SUCCEEDED'])

  const listed = await client.commands.list(dev.id, { limit: 10 })
  t.equal(listed[0]!.id, cmd.id)
  await d.client.endAsync()
  const later = await client.commands.send(dev.id, 'later')
  t.equal((await client.commands.cancel(dev.id, later.id)).state, 'CANCELLED')
  const err = await client.commands.cancel(dev.id, later.id).catch((e: unknown) => e)
  t.ok(err instanceof WirehubHttpError && err.status === 409, 'cancelling twice: 409')
  t.equal((await client.commands.result(dev.id, later.id)).state, 'CANCELLED', 'result() of a finished command resolves at once')
})
