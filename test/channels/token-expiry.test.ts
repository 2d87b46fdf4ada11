/**
 * Token lifetime on a channel socket (SOCKET_TOKEN_TTL=5): `token_expiring` ahead of expiry,
 * delivery stops at expiry with an error, an expired token is refused with `token_expired`, and
 * a new `auth` on the same socket renews it and resumes the subscriptions. Also: revoking the
 * API key behind the token closes the socket with 4010.
 */
import t from 'tap'
import { api, authed, channelToken, createDevice, createUser, ingest, iotApp } from './support.js'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'

t.test('expiry, renewal and revocation', async (t) => {
  const ta = await iotApp(t, { SOCKET_TOKEN_TTL: '5' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const oldToken = await channelToken(ta, u.key)
  const c = await authed(ta, u.key)
  // TTL 5 s is inside the 60 s warning window: the notice comes at once.
  const warn = await c.nextOf('token_expiring')
  t.ok(Date.parse(warn.expires_at) > Date.now() - 1000)
  await c.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')

  const expired = await c.next((m) => m.type === 'error' && m.code === 'token_expired')
  t.match(expired.message, /paused until a new auth/)
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: 1 } } })
  t.same(await c.quiet(), [], 'no delivery after expiry')
  t.match(await c.request({ type: 'subscribe', channel: 'alerts' }, 'subscribed'), { type: 'error', code: 'token_expired' })
  t.match(await c.request({ type: 'auth', token: oldToken }, 'auth_response'), { success: false, error: 'token_expired' })

  t.match(await c.request({ type: 'auth', token: await channelToken(ta, u.key) }, 'auth_response'), { success: true })
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: 2 } } })
  t.equal((await c.nextOf('telemetry_update')).telemetry.t.value, 2, 'renewed on the same socket: delivery resumes')

  // Revoking the client key behind the token closes its sockets.
  const keys = await api(ta, u.key, 'GET', '/api/client/account/api-keys')
  const identifier = keys.body!.data[0].attributes.identifier
  const closed = c.closed
  await api(ta, u.key, 'DELETE', `/api/client/account/api-keys/${identifier}`)
  t.equal((await closed).code, CLOSE.REVOKED.code)
})
