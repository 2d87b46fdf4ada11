/**
 * USER_EVENTS_REQUIRE_KEY: the upgrade request must also carry an administrator's application
 * key (`Authorization: Bearer wha_…`), on both listeners; the Origin check still applies; a
 * socket whose key is revoked is closed with 4010.
 */
import t from 'tap'
import { KEY_TYPE_APPLICATION, KEY_TYPE_CLIENT } from '../../src/modules/auth/api-key.format.js'
import { ADMIN_EMAIL, bearer, build } from '../helper.js'
import { mainSocketUrl, openSeedClient, refusedStatus } from './seed-client.js'

t.test('USER_EVENTS_REQUIRE_KEY', async (t) => {
  const { app, url, adminKey } = await build(t, {
    listen: true,
    env: { APPROVED_SOCKET_DOMAINS: JSON.stringify(['^trusted-host$']), USER_EVENTS_PORT: '0', USER_EVENTS_REQUIRE_KEY: 'true' },
  })
  const admin = await app.prisma.user.findUniqueOrThrow({ where: { email: ADMIN_EMAIL } })
  const plain = await app.prisma.user.create({ data: { email: 'plain@example.test', passwordHash: 'x' } })
  const clientKey = (await app.apiKeys.create(admin, KEY_TYPE_CLIENT, {})).key
  const nonAdminAppKey = (await app.apiKeys.create(plain, KEY_TYPE_APPLICATION, {})).key

  for (const [name, socketUrl] of Object.entries({ extra: `ws://127.0.0.1:${app.userEvents.port}`, main: mainSocketUrl(url) })) {
    t.test(`${name}: refusals`, async (t) => {
      t.equal(await refusedStatus(socketUrl, 'trusted-host'), 401, 'no key')
      t.equal(await refusedStatus(socketUrl, 'trusted-host', bearer('wha_notAKey')), 401, 'malformed key')
      t.equal(await refusedStatus(socketUrl, 'trusted-host', bearer(`wha_${'Z'.repeat(44)}`)), 401, 'unknown key')
      t.equal(await refusedStatus(socketUrl, 'trusted-host', bearer(clientKey)), 403, 'client key')
      t.equal(await refusedStatus(socketUrl, 'trusted-host', bearer(nonAdminAppKey)), 403, "a non-administrator's application key")
      t.equal(await refusedStatus(socketUrl, 'http://evil.net', bearer(adminKey)), 403, 'a good key does not lift the Origin check')
    })

    t.test(`${name}: an administrator's application key connects`, async (t) => {
      const c = await openSeedClient(t, socketUrl, 'trusted-host', bearer(adminKey))
      c.wsClient.send(JSON.stringify({ eventType: 10, message: 'keyed' }))
      t.same(await c.take((e) => e.eventType === 10), { eventType: 10, message: 'keyed' })
    })
  }

  t.test('revoking the key closes its sockets with 4010 after the revocation event', async (t) => {
    const { key, view } = await app.apiKeys.create(admin, KEY_TYPE_APPLICATION, { description: 'to revoke' })
    const watcher = await openSeedClient(t, mainSocketUrl(url), 'trusted-host', bearer(adminKey))
    const doomed = await openSeedClient(t, `ws://127.0.0.1:${app.userEvents.port}`, 'trusted-host', bearer(key))
    await app.apiKeys.revoke(admin, view.identifier)
    const e = await doomed.take((e) => e.eventType === 13)
    t.equal((e.key as { identifier: string }).identifier, view.identifier)
    t.equal((await doomed.closed).code, 4010)
    await watcher.take((e) => e.eventType === 13)
    t.equal(watcher.wsClient.readyState, watcher.wsClient.OPEN, 'sockets on other keys stay open')
  })

  t.test('a key owner losing the administrator flag has its sockets closed (4010)', async (t) => {
    const second = await app.prisma.user.create({ data: { email: 'second.admin@example.test', passwordHash: 'x', rootAdmin: true } })
    const { key } = await app.apiKeys.create(second, KEY_TYPE_APPLICATION, {})
    const c = await openSeedClient(t, mainSocketUrl(url), 'trusted-host', bearer(key))
    const res = await app.inject({ method: 'PATCH', url: `/api/application/users/${second.uuid}`, headers: bearer(adminKey), payload: { root_admin: false } })
    t.equal(res.statusCode, 200)
    t.equal((await c.closed).code, 4010)
  })
})
