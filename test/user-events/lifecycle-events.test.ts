/**
 * Lifecycle events reach the socket: a login and logout over REST, a user created, changed and
 * removed through the Application API, an API key created and revoked. Every event carries the
 * user's uuid and email and an ISO timestamp; sockets on both listeners get the same events.
 */
import t from 'tap'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build } from '../helper.js'
import { mainSocketUrl, openSeedClient, type SeedEvent } from './seed-client.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('lifecycle events', async (t) => {
  const { app, url, adminKey } = await build(t, {
    listen: true,
    env: { APPROVED_SOCKET_DOMAINS: JSON.stringify(['^trusted-host$']), USER_EVENTS_PORT: '0' },
  })
  const main = await openSeedClient(t, mainSocketUrl(url), 'trusted-host')
  const extra = await openSeedClient(t, `ws://127.0.0.1:${app.userEvents.port}`, 'trusted-host')
  const admin = await app.prisma.user.findUniqueOrThrow({ where: { email: ADMIN_EMAIL } })
  const of = (type: number, email: string) => (e: SeedEvent) => e.eventType === type && (e.user as { email: string }).email === email

  t.test('a login over REST produces the login event (1), logout the logout event (2)', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
    t.equal(res.statusCode, 200)
    const login = await main.take(of(1, ADMIN_EMAIL))
    t.same(login.user, { uuid: admin.uuid, email: ADMIN_EMAIL })
    t.match(login.timestamp, ISO)
    t.same(await extra.take(of(1, ADMIN_EMAIL)), login, 'the extra port gets the same event')

    const cookie = res.cookies.find((c) => c.name === 'wirehub_session')
    const csrf = res.cookies.find((c) => c.name === 'wirehub_csrf')
    t.ok(cookie && csrf, 'session and CSRF cookies')
    const out = await app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      cookies: { wirehub_session: cookie!.value, wirehub_csrf: csrf!.value },
      headers: { 'x-csrf-token': csrf!.value },
    })
    t.equal(out.statusCode, 204)
    const logout = await main.take(of(2, ADMIN_EMAIL))
    t.same(logout.user, { uuid: admin.uuid, email: ADMIN_EMAIL })
    t.match(logout.timestamp, ISO)
  })

  t.test('user created (3), updated (11), removed (4) through the Application API', async (t) => {
    const email = 'new.user@example.test'
    const res = await app.inject({ method: 'POST', url: '/api/application/users', headers: bearer(adminKey), payload: { email, password: 'a long password' } })
    t.equal(res.statusCode, 201)
    const uuid = res.json().attributes.uuid as string
    const created = await main.take(of(3, email))
    t.same(created, { eventType: 3, user: { uuid, email }, timestamp: created.timestamp })
    t.match(created.timestamp, ISO)

    const patched = await app.inject({ method: 'PATCH', url: `/api/application/users/${uuid}`, headers: bearer(adminKey), payload: { username: 'renamed' } })
    t.equal(patched.statusCode, 200)
    t.same((await main.take(of(11, email))).user, { uuid, email })

    const del = await app.inject({ method: 'DELETE', url: `/api/application/users/${uuid}`, headers: bearer(adminKey) })
    t.equal(del.statusCode, 204)
    t.same((await main.take(of(4, email))).user, { uuid, email })
    t.same((await extra.take(of(4, email))).user, { uuid, email })
  })

  t.test('API key created (12) and revoked (13)', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/application/api-keys', headers: bearer(adminKey), payload: { description: 'events test' } })
    t.equal(res.statusCode, 201)
    const identifier = res.json().attributes.identifier as string
    const created = await main.take(of(12, ADMIN_EMAIL))
    t.same(created.user, { uuid: admin.uuid, email: ADMIN_EMAIL })
    t.same(created.key, { identifier, type: 'application' })
    t.match(created.timestamp, ISO)

    const del = await app.inject({ method: 'DELETE', url: `/api/application/api-keys/${identifier}`, headers: bearer(adminKey) })
    t.equal(del.statusCode, 204)
    const revoked = await main.take(of(13, ADMIN_EMAIL))
    t.same(revoked.key, { identifier, type: 'application' })
    t.match(revoked.timestamp, ISO)
  })

  t.test('each event is encoded once, whatever the number of sockets', async (t) => {
    const before = app.hub.encodes
    await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
    await main.take(of(1, ADMIN_EMAIL))
    await extra.take(of(1, ADMIN_EMAIL))
    t.equal(app.hub.encodes - before, 1)
  })
})
