/**
 * What clients saw before the socket session core, each through real sockets on the real app:
 * a demoted administrator keeps no `…:all` subscription; a token of 60 s or less is not
 * "expiring" right after auth and server-requested refreshes are never `throttled`; the socket
 * metrics count (and `wirehub_sockets_open` is present at zero); unauthenticated sockets have
 * their own budget per address that cannot lock authenticated users out, on consoles too; an
 * invalid UTF-8 frame closes with the documented 1007 and a ping flood with 4029.
 */
import t from 'tap'
import WebSocket from 'ws'
import { bearer } from '../helper.js'
import { Client, api, authed, channelToken, createDevice, createUser, ingest, iotApp } from '../channels/support.js'
import { setup } from '../servers/console-helpers.js'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'
import { allTopic } from '../../src/modules/devices/devices.topics.js'
import { until } from '../wait.js'

t.test('a demoted administrator loses its …:all channel subscriptions, in place', async (t) => {
  const ta = await iotApp(t)
  const admin = await createUser(ta, { admin: true })
  const other = await createUser(ta)
  const theirs = await createDevice(ta, other.key)
  const own = await createDevice(ta, admin.key)
  const sock = await authed(ta, admin.key)
  t.equal((await sock.request({ type: 'subscribe', channel: 'telemetry' }, 'subscribed')).type, 'subscribed')
  t.equal((await ingest(ta, theirs.id, theirs.deviceKey, { telemetry: { v: { value: 1 } } })).status, 201)
  t.equal((await sock.nextOf('telemetry_update')).device_id, theirs.id, 'as administrator: every device')
  const res = await ta.app.inject({ method: 'PATCH', url: `/api/application/users/${(await api(ta, admin.key, 'GET', '/api/client/account')).body!.attributes.uuid}`, headers: bearer(ta.adminKey), payload: { root_admin: false } })
  t.equal(res.statusCode, 200)
  // The re-evaluation runs on the user.updated event: the socket leaves the "every device" topic.
  await until(() => ta.app.hub.subscriberCount(allTopic('telemetry')) === 0, 'moved off telemetry:all')
  await ingest(ta, theirs.id, theirs.deviceKey, { telemetry: { v: { value: 2 } } })
  await ingest(ta, own.id, own.deviceKey, { telemetry: { v: { value: 3 } } })
  const next = await sock.nextOf('telemetry_update')
  t.equal(next.device_id, own.id, 'after demotion: only its own devices; the other user\'s reading was not delivered')
  t.equal(sock.ws.readyState, WebSocket.OPEN, 'the socket stays open')
})

t.test('short tokens: no immediate warning, server-requested refreshes are not throttled', async (t) => {
  const env = await setup(t, { SOCKET_TOKEN_TTL: '8', SOCKET_TOKEN_REPEAT: '30' })
  const server = await env.server({ name: 'short' })
  const { client } = await env.connect(server.uuid, env.admin.clientKey)
  client.send('send stats')
  await client.next('stats')
  t.notOk(client.frames.some((f) => f.event === 'token expiring'), 'no warning right after auth (it comes at TTL/2)')
  for (let i = 0; i < 3; i++) {
    await client.next('token expiring', () => true, 20_000)
    client.send('auth', (await env.credentials(server.uuid, env.admin.clientKey)).token)
    await client.next('auth success')
  }
  t.notOk(client.frames.some((f) => f.event === 'throttled'), 'three refreshes in a row, none throttled')
})

t.test('socket metrics count, and every family is reported at zero', async (t) => {
  const ta = await iotApp(t, { WS_MESSAGES_PER_SECOND: '2' })
  const metrics = async () => (await ta.app.inject({ method: 'GET', url: '/metrics' })).body
  const before = await metrics()
  t.match(before, /wirehub_sockets_open\{socket="console"\} 0/, 'console at zero')
  t.match(before, /wirehub_sockets_open\{socket="channels"\} 0/, 'channels at zero')
  const user = await createUser(ta)
  const sock = await authed(ta, user.key)
  const bad = await Client.open(ta)
  await bad.request({ type: 'auth', token: 'nope' }, 'auth_response')
  for (let i = 0; i < 3; i++) sock.send({ type: 'ping' }) // burst 2 (auth took one): one dropped, not a flood
  await sock.nextOf('error')
  bad.close()
  await bad.closed
  const m = await metrics()
  t.match(m, /wirehub_sockets_authenticated\{socket="channels"\} 1/, 'authenticated sockets counted')
  t.match(m, /wirehub_auth_failures_total\{surface="channels",reason="invalid_token"\} 1/, 'auth failures counted')
  t.match(m, /wirehub_socket_messages_in_total\{socket="channels",type="all"\} [1-9]/, 'inbound messages counted')
  t.match(m, /wirehub_rate_limited_total\{surface="channels"\} [1-9]/, 'rate-limited messages counted')
  t.match(m, /wirehub_socket_disconnects_total\{socket="channels",code="1005"\} 1/, 'disconnects by close code')
})

t.test('unauthenticated sockets have their own budget per address (channels and consoles)', async (t) => {
  const env = await setup(t, { ALLOWED_ORIGINS: '*', WS_MAX_PENDING_PER_IP: '3', WS_MAX_CONNECTIONS: '2', WS_CONNECTIONS_PER_MINUTE: '1000' })
  const server = await env.server({ name: 'budget' })
  const ws = env.url.replace(/^http/, 'ws')
  const open = (path: string, localAddress: string) =>
    new Promise<WebSocket | number>((resolve) => {
      const s = new WebSocket(`${ws}${path}`, { localAddress })
      s.once('open', () => resolve(s))
      s.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0))
      s.once('error', () => {})
    })
  const idle: WebSocket[] = []
  for (let i = 0; i < 3; i++) idle.push((await open('/ws', '127.0.0.2')) as WebSocket)
  t.teardown(() => idle.forEach((s) => s.terminate()))
  t.equal(await open('/ws', '127.0.0.2'), 429, 'a fourth unauthenticated channel socket from that address: 429 before the upgrade')
  t.equal(await open(`/api/servers/${server.uuid}/ws`, '127.0.0.2'), 429, 'consoles share the budget')
  // A real user elsewhere is not locked out, and idle sockets do not count against WS_MAX_CONNECTIONS.
  const user = await createUser(env)
  const token = await channelToken(env, user.key)
  const mine = new Client((await open('/ws', '127.0.0.1')) as WebSocket)
  t.match(await mine.request({ type: 'auth', token }, 'auth_response'), { success: true }, 'authenticated despite the idle sockets')
  const console_ = await env.connect(server.uuid, env.admin.clientKey)
  t.equal(console_.status, 'offline', 'a console from another address authenticates too')
})

t.test('documented close codes: invalid UTF-8 is 1007, a ping flood is 4029', async (t) => {
  const ta = await iotApp(t, { WS_MESSAGES_PER_SECOND: '5' })
  const user = await createUser(ta)
  const a = await authed(ta, user.key)
  a.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
  t.equal((await a.closed).code, CLOSE.INVALID_DATA.code, '1007 for a text frame that is not UTF-8')
  const b = await authed(ta, user.key)
  for (let i = 0; i < 40; i++) b.ws.ping()
  t.equal((await b.closed).code, CLOSE.RATE_LIMITED.code, 'a ping flood is cut off with 4029')
})
