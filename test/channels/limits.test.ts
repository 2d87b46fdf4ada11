/**
 * Every channel socket limit on real sockets, each with its message and close code: sockets per
 * user, sockets in total, new sockets per minute per IP, messages per second, the 1 KB inbound
 * limit (1009), the authentication timeout (4001) and repeated failed auth (4003). The windows
 * themselves (including per user per minute) are also tested as pure logic.
 */
import t from 'tap'
import { Client, authed, channelToken, createUser, iotApp } from './support.js'
import { WindowCounter } from '../../src/modules/channels/channels.limits.js'
import { ChannelRegistry } from '../../src/modules/channels/channels.registry.js'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'

t.test('window counter and registry (pure)', async (t) => {
  const w = new WindowCounter(2, 60_000)
  t.ok(w.hit('a', 0))
  t.ok(w.hit('a', 1000))
  t.notOk(w.hit('a', 2000))
  t.equal(w.retryAfterSec('a', 2000), 58)
  t.ok(w.hit('b', 2000), 'keys are independent')
  t.ok(w.hit('a', 60_001), 'the window slides')

  // The counts are the session index's (test/realtime/session.test.ts checks they return to 0).
  const open = { total: 0, user: 0 }
  const r = new ChannelRegistry({ maxTotal: 10, maxPerUser: 5, perMinute: 2 }, { total: () => open.total, ofUser: () => open.user })
  t.equal(r.checkUser(1, 0), null)
  t.equal(r.checkUser(1, 1), null)
  t.match(r.checkUser(1, 2), { code: CLOSE.RATE_LIMITED, error: 'rate_limited', message: /per minute per user/ }, 'new sockets per minute per user')
  open.user = 5
  t.match(r.checkUser(2, 0), { code: CLOSE.TOO_MANY_CONNECTIONS, message: /At most 5 channel sockets per user/ }, 'sockets per user')
  open.total = 10
  t.match(r.admit('10.0.0.1', 0), { code: CLOSE.TOO_MANY_CONNECTIONS, message: /at most 10 channel sockets/ }, 'sockets in total')
})

t.test('limits on real sockets', async (t) => {
  const ta = await iotApp(t, {
    WS_CONNECTIONS_PER_MINUTE: '6',
    WS_MAX_CONNECTIONS: '3',
    WS_MAX_CONNECTIONS_PER_USER: '2',
    WS_MESSAGES_PER_SECOND: '5',
    CHANNEL_AUTH_TIMEOUT: '2',
  })
  const alice = await createUser(ta)
  const bob = await createUser(ta)

  const a1 = await authed(ta, alice.key) // IP window: 1
  await authed(ta, alice.key) // 2
  const a3 = await Client.open(ta) // 3
  const refused = await a3.request({ type: 'auth', token: await channelToken(ta, alice.key) }, 'auth_response')
  t.match(refused, { type: 'auth_response', success: false, error: 'too_many_connections', message: /At most 2 channel sockets per user/ })
  t.equal((await a3.closed).code, CLOSE.TOO_MANY_CONNECTIONS.code, 'per user: 4009')

  const b1 = await authed(ta, bob.key) // 4; open: a1, a2, b1
  const full = await Client.open(ta) // refused before counting against the IP window
  t.match(await full.nextOf('error'), { code: 'too_many_connections', message: /at most 3 channel sockets/ })
  t.equal((await full.closed).code, CLOSE.TOO_MANY_CONNECTIONS.code, 'in total: 4009')

  // 1 KB inbound limit: 1009, and the slot is free again.
  b1.send(JSON.stringify({ type: 'ping', timestamp: 'x'.repeat(1100) }))
  t.equal((await b1.closed).code, 1009, 'larger than 1 KB closes with 1009')

  // Messages per second: the excess is refused with a message; a flood closes with 4029.
  const b2 = await authed(ta, bob.key) // 5
  for (let i = 0; i < 7; i++) b2.send({ type: 'ping', timestamp: String(i) })
  const firstError = await b2.nextOf('error')
  t.match(firstError, { code: 'rate_limited', message: /At most 5 messages per second/ })
  for (let i = 0; i < 20; i++) b2.send({ type: 'ping' })
  const flooded = await b2.closed
  t.equal(flooded.code, CLOSE.RATE_LIMITED.code, 'a flood closes with 4029')
  t.ok(b2.messages.filter((m) => m.type === 'pong').length <= 6, 'the excess was not served')

  // No auth within CHANNEL_AUTH_TIMEOUT: 4001 (this is the 6th socket of the minute).
  const idle = await Client.open(ta)
  t.match(await idle.nextOf('error'), { code: 'auth_timeout' })
  t.equal((await idle.closed).code, CLOSE.AUTH_TIMEOUT.code)

  // The 7th new socket from this IP within a minute.
  const seventh = await Client.open(ta)
  t.match(await seventh.nextOf('error'), { code: 'rate_limited', message: /At most 6 new channel sockets per minute from one address/ })
  t.equal((await seventh.closed).code, CLOSE.RATE_LIMITED.code, 'per IP per minute: 4029')

  t.equal((await a1.request({ type: 'ping', timestamp: 'still' }, 'pong')).timestamp, 'still', 'the sockets within limits are unaffected')
})

t.test('repeated failed auth closes with 4003', async (t) => {
  const ta = await iotApp(t)
  const c = await Client.open(ta)
  for (let i = 0; i < 5; i++) c.send({ type: 'auth', token: `bad${i}` })
  t.equal((await c.closed).code, CLOSE.AUTH_FAILED.code)
  t.equal(c.messages.filter((m) => m.type === 'auth_response' && m.success === false).length, 5)
})
