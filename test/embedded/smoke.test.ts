/**
 * The same app on embedded PGlite (a temporary DATA_DIR): bootstrap admin, create a user and a
 * key, log in, readiness, and the batched lastUsedAt write (raw SQL) on PGlite.
 */
import t from 'tap'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build } from '../helper.js'
import { createKey, createUser, expectError, login } from '../http/support.js'

t.test('embedded smoke', async (t) => {
  const { app, adminKey, config } = await build(t, { embedded: true })
  t.equal(config.embedded, true)
  t.equal(app.db.kind, 'pglite')

  t.equal((await app.inject({ url: '/ready' })).statusCode, 200, 'ready')
  const user = await createUser(app, adminKey, { email: 'pg@lite.test', password: 'embedded password', withKey: true })
  const account = await app.inject({ url: '/api/client/account', headers: bearer(user.key!) })
  t.equal(account.statusCode, 200)
  t.equal(account.json().attributes.email, 'pg@lite.test')
  const dup = await app.inject({ method: 'POST', url: '/api/application/users', headers: bearer(adminKey), payload: { email: 'pg@lite.test', password: 'embedded password' } })
  t.equal(expectError(t, dup, 422, 'duplicate email on PGlite').errors[0]!.meta?.source_field, 'email')

  const { key, identifier } = await createKey(app, user.key!, 'client')
  t.equal((await app.inject({ url: '/api/client/account', headers: bearer(key) })).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: `/api/client/account/api-keys/${identifier}`, headers: bearer(user.key!) })).statusCode, 204)
  expectError(t, await app.inject({ url: '/api/client/account', headers: bearer(key) }), 401, 'revoked on PGlite')

  const s = await login(app, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.equal((await app.inject({ url: '/api/client/account', cookies: s.cookies })).json().attributes.admin, true, 'admin session')

  await app.apiKeys.flushLastUsed()
  const row = await app.prisma.apiKey.findUnique({ where: { identifier: user.key!.slice(0, 16) } })
  t.ok(row?.lastUsedAt, 'lastUsedAt flushed on PGlite')

  const tokens = app.socketTokens
  const token = tokens.sign({ userUuid: user.uuid, userId: user.id, permissions: [], scope: 'channels', cred: 'k:1' })
  t.ok(tokens.verify(token, 'channels').ok, 'socket tokens with the generated embedded secret')
})
