/**
 * The SDK's user events socket against a real wirehub (`/ws/users`, Origin allow-list):
 * typed handlers for numeric event types, echo, a REST login seen as event 1, the terminal 1009
 * (no reconnect), and a wirehub restart on the same port and database (the socket comes back).
 */
import t from 'tap'
import { CLOSE, USER_EVENT } from '../../packages/client/src/index.js'
import { ADMIN_EMAIL, ADMIN_PASSWORD, build, freshDatabase } from '../helper.js'
import { next, sdkClient } from './support.js'
import { freePort } from '../wait.js'

const ORIGIN = 'trusted-host'
const DOMAINS = JSON.stringify(['^trusted-host$'])

t.test('user events: echo, lifecycle events, 1009 is terminal', async (t) => {
  const { app, url, adminKey } = await build(t, { listen: true, env: { APPROVED_SOCKET_DOMAINS: DOMAINS } })
  const client = sdkClient(t, url, adminKey)
  const ue = client.userEvents('/ws/users', { origin: ORIGIN })
  await ue.ready()
  t.equal(await ue.echo('Hello world?'), 'Hello world?', 'echo answered with the same message')

  const login = new Promise<{ user: { email: string } }>((resolve) => ue.on(USER_EVENT.LOGIN, (e) => resolve(e)))
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
  t.equal(res.statusCode, 200)
  t.equal((await login).user.email, ADMIN_EMAIL, 'a REST login arrives as eventType 1')

  const closed = next(ue, 'close')
  ue.echo('x'.repeat(5000)).catch(() => {})
  const ev = await closed
  t.equal(ev.code, CLOSE.TOO_BIG.code, 'oversized frame closes with 1009')
  t.equal(ev.willReconnect, false)
  t.equal(ue.state, 'closed')
  t.equal(ue.stats.connections, 1, 'never reconnected')
})

t.test('user events: the socket comes back after a wirehub restart on the same port', async (t) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env = { DATABASE_URL: await freshDatabase(t), PUBLIC_URL: base, APPROVED_SOCKET_DOMAINS: DOMAINS }
  const first = await build(t, { env })
  await first.app.listen({ host: '127.0.0.1', port })
  const client = sdkClient(t, base, first.adminKey)
  const ue = client.userEvents('/ws/users', { origin: ORIGIN })
  await ue.ready()

  const away = next(ue, 'close')
  await first.app.close()
  const ev = await away
  // Shutdown closes with 1012 (RESTART), after which every client reconnects.
  t.equal(ev.code, CLOSE.RESTART.code, 'closed with 1012')
  t.equal(ev.willReconnect, true, `reconnect scheduled after ${ev.code}`)

  const second = await build(t, { env })
  const back = next(ue, 'open')
  await second.app.listen({ host: '127.0.0.1', port })
  t.same(await back, { reconnected: true })
  t.equal(await ue.echo('still here'), 'still here')
})
