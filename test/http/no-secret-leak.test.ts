/**
 * No response ever contains a password hash, an API key hash, a session token hash, or an API
 * key secret, except the one-time creation response of that key. Every foundation route is
 * exercised (successes and failures), every response (body and headers) is collected, then
 * searched for the secrets read back from the database.
 */
import t from 'tap'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { ADMIN_PASSWORD, bearer, build } from '../helper.js'
import { createUser, login } from './support.js'

t.test('no response leaks a hash or a secret', async (t) => {
  const { app, adminKey } = await build(t)
  const responses: Array<{ label: string; text: string }> = []
  /** Secrets that may appear only in the response labelled with the creation that made them. */
  const secretsShownOnce = new Map<string, string>()

  const record = (label: string, res: LightMyRequestResponse) => {
    responses.push({ label, text: `${JSON.stringify(res.headers)}\n${res.body}` })
    return res
  }
  const call = async (label: string, opts: InjectOptions) => record(label, await app.inject(opts))
  const admin = bearer(adminKey)
  const PASSWORD = 'leak test password 1'

  // Users: create (with a first key), read, list, update, delete, and their failures.
  const created = await call('create user with key', {
    method: 'POST', url: '/api/application/users', headers: admin,
    payload: { email: 'leak@example.test', password: PASSWORD, with_client_key: true },
  })
  const userKey = created.json().meta.api_key as string
  secretsShownOnce.set(userKey.slice(16), 'create user with key')
  const uid = created.json().attributes.id as number
  const other = await createUser(app, adminKey, { email: 'other@example.test', password: PASSWORD })
  await call('list users', { url: '/api/application/users?per_page=100&sort=-id', headers: admin })
  await call('filter users', { url: '/api/application/users?filter[email]=leak', headers: admin })
  await call('get user', { url: `/api/application/users/${uid}`, headers: admin })
  await call('patch user', { method: 'PATCH', url: `/api/application/users/${uid}`, headers: admin, payload: { username: 'leaky' } })
  await call('patch password', { method: 'PATCH', url: `/api/application/users/${other.id}`, headers: admin, payload: { password: 'a new long password' } })
  await call('duplicate email', { method: 'POST', url: '/api/application/users', headers: admin, payload: { email: 'leak@example.test', password: PASSWORD } })
  await call('bad user body', { method: 'POST', url: '/api/application/users', headers: admin, payload: { email: 'x', password_hash: 'scrypt$x' } })

  // Client account and keys.
  await call('account', { url: '/api/client/account', headers: bearer(userKey) })
  const ck = await call('create client key', { method: 'POST', url: '/api/client/account/api-keys', headers: bearer(userKey), payload: { description: 'second' } })
  const clientKey2 = ck.json().meta.api_key as string
  secretsShownOnce.set(clientKey2.slice(16), 'create client key')
  await call('list client keys', { url: '/api/client/account/api-keys', headers: bearer(clientKey2) })
  await call('list client keys again', { url: '/api/client/account/api-keys', headers: bearer(userKey) })
  await call('revoke client key', { method: 'DELETE', url: `/api/client/account/api-keys/${clientKey2.slice(0, 16)}`, headers: bearer(userKey) })
  await call('revoked key used', { url: '/api/client/account', headers: bearer(clientKey2) })
  await call('wrong secret', { url: '/api/client/account', headers: bearer(userKey.slice(0, 16) + 'x'.repeat(32)) })
  await call('application key on client API', { url: '/api/client/account', headers: admin })
  await call('client key on application API', { url: '/api/application/users', headers: bearer(userKey) })

  // Application keys.
  const ak = await call('create application key', { method: 'POST', url: '/api/application/api-keys', headers: admin, payload: { description: 'ops' } })
  const appKey2 = ak.json().meta.api_key as string
  secretsShownOnce.set(appKey2.slice(16), 'create application key')
  await call('list application keys', { url: '/api/application/api-keys', headers: bearer(appKey2) })
  await call('bad key body', { method: 'POST', url: '/api/application/api-keys', headers: admin, payload: { description: 'x', allowed_ips: ['nope'] } })

  // Browser session.
  const session = await login(app, 'leak@example.test', PASSWORD)
  await call('login again', { method: 'POST', url: '/api/auth/login', payload: { email: 'leak@example.test', password: PASSWORD } })
  await call('login wrong password', { method: 'POST', url: '/api/auth/login', payload: { email: 'leak@example.test', password: 'wrong password' } })
  await call('login admin', { method: 'POST', url: '/api/auth/login', payload: { email: 'admin@example.test', password: ADMIN_PASSWORD } })
  await call('account via session', { url: '/api/client/account', cookies: session.cookies })
  await call('keys via session', { url: '/api/client/account/api-keys', cookies: session.cookies })
  await call('csrf refused', { method: 'POST', url: '/api/client/account/api-keys', cookies: session.cookies, payload: { description: 'x' } })
  await call('logout without CSRF', { method: 'POST', url: '/api/auth/logout', cookies: session.cookies })
  await call('logout', { method: 'POST', url: '/api/auth/logout', cookies: session.cookies, headers: { 'x-csrf-token': session.csrf } })

  // Operations, docs, errors.
  await call('health', { url: '/health' })
  await call('ready', { url: '/ready' })
  await call('openapi', { url: '/docs/json' })
  await call('404', { url: '/nope' })
  await call('bad json', { method: 'POST', url: '/api/application/users', headers: { ...admin, 'content-type': 'application/json' }, payload: '{' })
  await call('delete user', { method: 'DELETE', url: `/api/application/users/${other.id}`, headers: admin })

  // The secrets, read back from the database.
  const users = await app.prisma.user.findMany({ select: { passwordHash: true } })
  const keys = await app.prisma.apiKey.findMany({ select: { secretHash: true, identifier: true } })
  const sessions = await app.prisma.session.findMany({ select: { tokenHash: true } })
  t.ok(users.length >= 2 && keys.length >= 4 && sessions.length >= 2, 'secrets to look for')
  const forbidden: Array<[string, string]> = [
    ['scrypt$', 'password hash prefix'],
    [ADMIN_PASSWORD, 'admin password'],
    [PASSWORD, 'user password'],
    ...users.map((u) => [u.passwordHash, 'password hash'] as [string, string]),
    ...users.map((u) => [u.passwordHash.split('$').pop()!, 'password hash (digest part)'] as [string, string]),
    ...keys.map((k) => [k.secretHash, `key hash of ${k.identifier}`] as [string, string]),
    ...sessions.map((s) => [s.tokenHash, 'session token hash'] as [string, string]),
    [adminKey.slice(16), 'bootstrap key secret'],
  ]
  t.ok(responses.length >= 30, `${responses.length} responses collected`)
  for (const { label, text } of responses) {
    for (const [needle, what] of forbidden) {
      if (text.includes(needle)) t.fail(`${label}: response contains the ${what}`)
    }
    for (const [secret, allowedIn] of secretsShownOnce) {
      if (text.includes(secret) && label !== allowedIn) t.fail(`${label}: response contains a key secret created by "${allowedIn}"`)
    }
  }
  for (const [secret, allowedIn] of secretsShownOnce) {
    t.ok(responses.find((r) => r.label === allowedIn)!.text.includes(secret), `${allowedIn} shows its key once`)
  }
})
