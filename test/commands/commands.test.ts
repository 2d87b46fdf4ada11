/**
 * Device commands end to end with real clients: a command to an offline device stays QUEUED,
 * is sent when the device connects over MQTT, DELIVERED on its PUBACK and SUCCEEDED (or FAILED)
 * with its answer; the `commands` channel shows each transition once, in order, filtered by
 * device; expiry, cancellation, the HTTP long-poll for devices without MQTT, and bad input.
 */
import t from 'tap'
import { api, authed, createDevice, createUser, type Msg } from '../channels/support.js'
import { Device, mqttApp } from '../mqtt/support.js'

t.test('offline → QUEUED; on connect SENT, DELIVERED by PUBACK, SUCCEEDED with the result; each transition once', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const other = await createDevice(ta, alice.key)
  const sock = await authed(ta, alice.key, '/ws/commands')
  t.match(await sock.request({ type: 'subscribe', channel: 'commands', device_id: dev.id }, 'subscribed'), { type: 'subscribed', channel: 'commands', device_id: dev.id })

  const created = await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'setLed', params: { on: true }, timeout: 120 })
  t.equal(created.status, 201)
  const cmd = created.body!.attributes
  t.match(cmd, { device_id: dev.id, method: 'setLed', params: { on: true }, state: 'QUEUED', timeout: 120, sent_at: null, created_by: alice.id })
  t.match(await sock.nextOf('command_update'), { channel: 'commands', device_id: dev.id, state: 'QUEUED', command: { id: cmd.id } })
  // Another device's command is not on this subscription.
  await api(ta, alice.key, 'POST', `/api/client/devices/${other.id}/commands`, { method: 'x' })
  t.same(await sock.quiet(), [], 'still QUEUED while the device is offline; other devices filtered out')

  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 })
  const req = await d.message((m) => m.topic === `v1/devices/me/rpc/request/${cmd.id}`)
  t.same(JSON.parse(req.payload), { method: 'setLed', params: { on: true } })
  const sent = await sock.nextOf('command_update')
  t.match(sent, { state: 'SENT', command: { transport: 'mqtt' } })
  t.match(await sock.nextOf('command_update'), { state: 'DELIVERED' }, 'the PUBACK made it DELIVERED')

  await d.client.publishAsync(`v1/devices/me/rpc/response/${cmd.id}`, JSON.stringify({ led: 'on', ms: 12 }), { qos: 1 })
  const done = await sock.nextOf('command_update')
  t.match(done, { state: 'SUCCEEDED', command: { result: { led: 'on', ms: 12 }, error: null } })
  t.same(await sock.quiet(), [], 'no transition twice')
  const states = sock.messages.filter((m: Msg) => m.type === 'command_update').map((m: Msg) => m.state)
  t.same(states, ['QUEUED', 'SENT', 'DELIVERED', 'SUCCEEDED'])

  const hist = await api(ta, alice.key, 'GET', `/api/client/devices/${dev.id}/commands`)
  t.equal(hist.status, 200)
  t.match(hist.body!.data[0].attributes, { id: cmd.id, state: 'SUCCEEDED', result: { led: 'on', ms: 12 } })
  t.ok(hist.body!.data[0].attributes.delivered_at)

  // A second command while connected goes out at once; an error answer FAILS it.
  const c2 = (await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'reboot' })).body!.attributes
  await d.message((m) => m.topic === `v1/devices/me/rpc/request/${c2.id}`)
  await d.client.publishAsync(`v1/devices/me/rpc/response/${c2.id}`, JSON.stringify({ error: 'busy' }), { qos: 1 })
  const failed = await sock.next((m) => m.type === 'command_update' && m.command.id === c2.id && m.state === 'FAILED')
  t.equal(failed.command.error, 'busy')
  const bob = await createUser(ta)
  t.equal((await api(ta, bob.key, 'GET', `/api/client/devices/${dev.id}/commands`)).status, 404, "not bob's device")
})

t.test('a command expires on time and is never sent afterwards; cancel; bad input', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const sock = await authed(ta, alice.key)
  await sock.request({ type: 'subscribe', channel: 'commands' }, 'subscribed')

  const c = (await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'soon', timeout: 1 })).body!.attributes
  await sock.next((m) => m.type === 'command_update' && m.state === 'QUEUED')
  const expired = await sock.next((m) => m.type === 'command_update' && m.command.id === c.id && m.state === 'EXPIRED')
  t.ok(Date.parse(expired.command.completed_at) >= Date.parse(c.expires_at), 'not before its expiry')
  t.match(expired.command.error, /No result within 1 seconds \(was QUEUED\)/)

  const k = (await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'later' })).body!.attributes
  const cancelled = await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands/${k.id}/cancel`)
  t.equal(cancelled.body!.attributes.state, 'CANCELLED')
  const again = await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands/${k.id}/cancel`)
  t.equal(again.status, 409)
  t.match(again.body!.errors[0].detail, /already CANCELLED/)

  const d = await Device.connect(t, ta.mqttUrl, { username: String(dev.id), password: dev.deviceKey })
  await d.client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 })
  const live = (await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'marker' })).body!.attributes
  await d.message((m) => m.topic === `v1/devices/me/rpc/request/${live.id}`)
  t.same(d.received.map((m) => m.topic), [`v1/devices/me/rpc/request/${live.id}`], 'neither the expired nor the cancelled command was sent')

  const bad = [
    [{}, 422],
    [{ method: '' }, 422],
    [{ method: 'a b' }, 422],
    [{ method: 'x', timeout: 0 }, 422],
    [{ method: 'x', extra: 1 }, 422],
    [{ method: 'x', params: 'y'.repeat(70_000) }, 400],
  ] as const
  for (const [body, status] of bad) {
    const r = await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, body)
    t.equal(r.status, status, JSON.stringify(body).slice(0, 60))
    t.ok(r.body!.errors[0].detail, 'names the problem')
  }
  t.equal((await api(ta, alice.key, 'POST', `/api/client/devices/999999/commands`, { method: 'x' })).status, 404)
  t.equal((await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'x', timeout: 2_592_000 })).status, 400, 'over COMMAND_MAX_TIMEOUT')
})

t.test('HTTP long poll: the waiting device gets the command, acknowledges and answers it', async (t) => {
  const ta = await mqttApp(t)
  const alice = await createUser(ta)
  const dev = await createDevice(ta, alice.key)
  const sock = await authed(ta, alice.key)
  await sock.request({ type: 'subscribe', channel: 'commands', device_id: dev.id }, 'subscribed')
  const headers = { authorization: `Bearer ${dev.deviceKey}`, 'content-type': 'application/json' }

  const empty = await fetch(`${ta.url}/api/devices/${dev.id}/commands?wait=0`, { headers })
  t.same(await empty.json(), { object: 'list', data: [] }, 'nothing queued: an empty list at once with wait=0')

  const poll = fetch(`${ta.url}/api/devices/${dev.id}/commands?wait=30`, { headers })
  // The poll is attached once the server has it; the command then goes straight to it.
  const created = await api(ta, alice.key, 'POST', `/api/client/devices/${dev.id}/commands`, { method: 'open', params: [1, 2] })
  const id = created.body!.attributes.id
  const got = (await (await poll).json()) as Msg
  t.match(got.data, [{ object: 'device_command', attributes: { id, method: 'open', params: [1, 2] } }])
  t.match(await sock.next((m) => m.type === 'command_update' && m.state === 'SENT'), { command: { transport: 'http' } })

  const post = (body: unknown) => fetch(`${ta.url}/api/devices/${dev.id}/commands/${id}`, { method: 'POST', headers, body: JSON.stringify(body) })
  t.same(await (await post({})).json(), { object: 'command_receipt', attributes: { id, state: 'DELIVERED' } })
  t.same(await (await post({ result: { opened: true } })).json(), { object: 'command_receipt', attributes: { id, state: 'SUCCEEDED' } })
  const late = await post({ error: 'too late' })
  t.equal(late.status, 409, 'a finished command takes no other answer')
  t.match(await sock.next((m) => m.type === 'command_update' && m.state === 'SUCCEEDED'), { command: { result: { opened: true } } })
  t.same(sock.messages.filter((m: Msg) => m.type === 'command_update').map((m: Msg) => m.state), ['QUEUED', 'SENT', 'DELIVERED', 'SUCCEEDED'])

  const wrong = await fetch(`${ta.url}/api/devices/${dev.id}/commands?wait=0`, { headers: { authorization: `Bearer ${dev.deviceKey.slice(0, -2)}xx` } })
  t.equal(wrong.status, 401)
  const other = await createDevice(ta, alice.key)
  t.equal((await fetch(`${ta.url}/api/devices/${other.id}/commands?wait=0`, { headers })).status, 403)
  t.equal((await post({ result: 1, error: 'x' })).status, 400)
})
