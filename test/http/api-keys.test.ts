/**
 * API keys on both families: `/api/client/account/api-keys` (client keys) and
 * `/api/application/api-keys` (an administrator's application keys): create (the key shown
 * once), list, revoke with immediate effect, allowed_ips validation and enforcement, wrong key
 * types, and lastUsedAt being recorded without a write per request.
 */
import t from 'tap'
import pg from 'pg'
import { bearer, build } from '../helper.js'
import { createKey, createUser, expectError } from './support.js'

interface KeyAttrs {
  identifier: string
  description: string
  allowed_ips: string[]
  last_used_at: string | null
  created_at: string
}

t.test('client API keys', async (t) => {
  const { app, adminKey } = await build(t)
  const user = await createUser(app, adminKey, { email: 'keys@example.test', withKey: true })
  const first = user.key!
  const url = '/api/client/account/api-keys'

  t.test('create shows the key once; list never does', async (t) => {
    const res = await app.inject({ method: 'POST', url, headers: bearer(first), payload: { description: 'ci', allowed_ips: ['127.0.0.1', '::1/128'] } })
    t.equal(res.statusCode, 201)
    const body = res.json<{ object: string; attributes: KeyAttrs; meta: { secret_token: string; api_key: string } }>()
    t.equal(body.object, 'api_key')
    t.match(body.attributes.identifier, /^whc_[A-Za-z0-9]{12}$/)
    t.equal(body.meta.api_key, body.attributes.identifier + body.meta.secret_token)
    t.equal(body.meta.secret_token.length, 32)
    t.same(body.attributes.allowed_ips, ['127.0.0.1', '::1/128'])
    t.same(Object.keys(body.attributes).sort(), ['allowed_ips', 'created_at', 'description', 'identifier', 'last_used_at'])

    const list = await app.inject({ url, headers: bearer(body.meta.api_key) })
    t.equal(list.statusCode, 200, 'the new key works from an allowed IP')
    const listed = list.json<{ object: string; data: Array<{ object: string; attributes: KeyAttrs }> }>()
    t.equal(listed.object, 'list')
    t.same(listed.data.map((k) => k.attributes.description), ['created with the account', 'ci'])
    t.notMatch(list.body, body.meta.secret_token, 'the list does not contain the secret')
    t.notOk(list.body.includes('secret'), 'no secret field at all in the list')
  })

  t.test('validation', async (t) => {
    const cases: Array<[unknown, string]> = [
      [{}, 'description'],
      [{ description: '' }, 'description'],
      [{ description: 'x'.repeat(501) }, 'description'],
      [{ description: 'x', allowed_ips: ['10.0.0.0/33'] }, 'allowed_ips'],
      [{ description: 'x', allowed_ips: ['not-an-ip'] }, 'allowed_ips'],
      [{ description: 'x', allowed_ips: ['10.0.0.1/'] }, 'allowed_ips'],
      [{ description: 'x', allowed_ips: ['::1/129'] }, 'allowed_ips'],
      [{ description: 'x', allowed_ips: [42] }, 'allowed_ips'],
      [{ description: 'x', allowed_ips: Array.from({ length: 51 }, (_, i) => `10.0.0.${i}`) }, 'allowed_ips'],
      [{ description: 'x', extra: 1 }, 'extra'],
    ]
    for (const [payload, field] of cases) {
      const res = await app.inject({ method: 'POST', url, headers: bearer(first), payload: payload as object })
      const err = expectError(t, res, 422, JSON.stringify(payload).slice(0, 50))
      t.ok(err.errors.some((e) => e.meta?.source_field === field || e.meta?.source_field?.startsWith(`${field}.`)), `names ${field}: ${err.errors[0]!.detail}`)
    }
    const ok = await app.inject({ method: 'POST', url, headers: bearer(first), payload: { description: 'v6', allowed_ips: ['2001:db8::/32', '10.1.2.3/32'] } })
    t.equal(ok.statusCode, 201, 'IPv6 CIDR and a /32 are accepted')
    // A scalar where a list is expected is either one entry or refused, never misread.
    const one = await app.inject({ method: 'POST', url, headers: bearer(first), payload: { description: 'one', allowed_ips: '10.0.0.0/8' } })
    if (one.statusCode === 201) t.same(one.json().attributes.allowed_ips, ['10.0.0.0/8'], 'a single string is one entry')
    else t.match(expectError(t, one, 422, 'scalar allowed_ips').errors[0]!.meta?.source_field, /^allowed_ips/)
  })

  t.test('revocation takes effect on the very next request', async (t) => {
    const { key, identifier } = await createKey(app, first, 'client')
    t.equal((await app.inject({ url: '/api/client/account', headers: bearer(key) })).statusCode, 200, 'key works (and is now cached)')
    const activeKeyId = (await app.prisma.apiKey.findUnique({ where: { identifier } }))!.id
    t.equal(await app.apiKeys.isActive(activeKeyId), true, 'isActive before revocation')
    const del = await app.inject({ method: 'DELETE', url: `${url}/${identifier}`, headers: bearer(first) })
    t.equal(del.statusCode, 204)
    expectError(t, await app.inject({ url: '/api/client/account', headers: bearer(key) }), 401, 'revoked key')
    t.equal(await app.apiKeys.isActive(activeKeyId), false, 'isActive after revocation')
    expectError(t, await app.inject({ method: 'DELETE', url: `${url}/${identifier}`, headers: bearer(first) }), 404, 'revoke twice')
    const listed = (await app.inject({ url, headers: bearer(first) })).json<{ data: Array<{ attributes: KeyAttrs }> }>()
    t.notOk(listed.data.some((k) => k.attributes.identifier === identifier), 'revoked key is not listed')
    const bad = expectError(t, await app.inject({ method: 'DELETE', url: `${url}/nonsense`, headers: bearer(first) }), 422, 'malformed identifier')
    t.equal(bad.errors[0]!.meta?.source_field, 'identifier')
  })

  t.test("a user cannot revoke someone else's key", async (t) => {
    const other = await createUser(app, adminKey, { email: 'other@example.test', withKey: true })
    const otherId = other.key!.slice(0, 16)
    expectError(t, await app.inject({ method: 'DELETE', url: `${url}/${otherId}`, headers: bearer(first) }), 404, 'foreign key')
    t.equal((await app.inject({ url: '/api/client/account', headers: bearer(other.key!) })).statusCode, 200, 'still works')
  })

  t.test('allowed_ips is enforced', async (t) => {
    const { key } = await createKey(app, first, 'client', { description: 'lan only', allowed_ips: ['10.0.0.0/8'] })
    expectError(t, await app.inject({ url: '/api/client/account', headers: bearer(key) }), 401, 'from 127.0.0.1')
    const lan = await app.inject({ url: '/api/client/account', headers: bearer(key), remoteAddress: '10.20.30.40' })
    t.equal(lan.statusCode, 200, 'from inside 10.0.0.0/8')
    const mapped = await app.inject({ url: '/api/client/account', headers: bearer(key), remoteAddress: '::ffff:10.1.1.1' })
    t.equal(mapped.statusCode, 200, 'IPv4-mapped IPv6 peer matches the IPv4 rule')
  })

  t.test('key types and malformed credentials', async (t) => {
    const app403 = expectError(t, await app.inject({ url, headers: bearer(adminKey) }), 403, 'application key on the client API')
    t.equal(app403.errors[0]!.detail, 'You are attempting to use an application API key on an endpoint that requires a client API key.')
    expectError(t, await app.inject({ url }), 401, 'no credential')
    expectError(t, await app.inject({ url, headers: { authorization: 'Bearer' } }), 401, 'empty bearer')
    expectError(t, await app.inject({ url, headers: { authorization: `Bearer ${first}x` } }), 401, 'too long')
    expectError(t, await app.inject({ url, headers: { authorization: `Bearer ${first.slice(0, -1)}` } }), 401, 'too short')
    // A client identifier presented with the application prefix is a different (unknown) key.
    expectError(t, await app.inject({ url, headers: bearer('wha_' + first.slice(4)) }), 401, 'prefix swapped')
    // More key slots than allowed are refused with a field error.
    let last
    for (let i = 0; i < 30; i++) {
      last = await app.inject({ method: 'POST', url, headers: bearer(first), payload: { description: `bulk ${i}` } })
      if (last.statusCode !== 201) break
    }
    const err = expectError(t, last!, 422, 'too many keys')
    t.equal(err.errors[0]!.meta?.source_field, 'key')
  })
})

t.test('application API keys', async (t) => {
  const { app, adminKey } = await build(t)
  const url = '/api/application/api-keys'
  const { key, identifier } = await createKey(app, adminKey, 'application', { description: 'deploy' })
  t.match(key, /^wha_[A-Za-z0-9]{44}$/)
  t.equal((await app.inject({ url: '/api/application/users', headers: bearer(key) })).statusCode, 200, 'new application key works')
  const list = (await app.inject({ url, headers: bearer(adminKey) })).json<{ data: Array<{ attributes: KeyAttrs }> }>()
  t.same(list.data.map((k) => k.attributes.description), ['bootstrap administrator key', 'deploy'])
  t.equal((await app.inject({ method: 'DELETE', url: `${url}/${identifier}`, headers: bearer(adminKey) })).statusCode, 204)
  expectError(t, await app.inject({ url: '/api/application/users', headers: bearer(key) }), 401, 'revoked application key')

  const client = await createUser(app, adminKey, { email: 'c@example.test', withKey: true })
  const err = expectError(t, await app.inject({ url, headers: bearer(client.key!) }), 403, 'client key on application keys')
  t.equal(err.errors[0]!.detail, 'You are attempting to use a client API key on an endpoint that requires an application API key.')
  // The client-key listing does not show application keys, and vice versa.
  const clientList = (await app.inject({ url: '/api/client/account/api-keys', headers: bearer(client.key!) })).json<{ data: unknown[] }>()
  t.equal(clientList.data.length, 1)
})

t.test('lastUsedAt is kept in memory and flushed in one batch, also at shutdown', async (t) => {
  const { app, adminKey, config } = await build(t)
  const user = await createUser(app, adminKey, { email: 'used@example.test', withKey: true })
  const { key: second, identifier: secondId } = await createKey(app, user.key!, 'client')
  const firstId = user.key!.slice(0, 16)
  const before = Date.now()
  for (let i = 0; i < 3; i++) await app.inject({ url: '/api/client/account', headers: bearer(user.key!) })
  await app.inject({ url: '/api/client/account', headers: bearer(second) })

  const rows = async () => {
    const c = new pg.Client({ connectionString: config.DATABASE_URL })
    await c.connect()
    try {
      const r = await c.query<{ identifier: string; last_used_at: Date | null }>('select identifier, last_used_at from api_keys where user_id = $1', [user.id])
      return new Map(r.rows.map((x) => [x.identifier, x.last_used_at]))
    } finally {
      await c.end()
    }
  }
  t.equal((await rows()).get(firstId), null, 'no write per request')
  const listed = (await app.inject({ url: '/api/client/account/api-keys', headers: bearer(second) })).json<{ data: Array<{ attributes: KeyAttrs }> }>()
  const shown = listed.data.find((k) => k.attributes.identifier === firstId)!.attributes.last_used_at
  t.ok(shown && Date.parse(shown) >= before - 1000, 'the listing shows the in-memory time before any flush')

  await app.apiKeys.flushLastUsed()
  const flushed = await rows()
  t.ok(flushed.get(firstId)!.getTime() >= before - 1000, 'first key flushed')
  t.ok(flushed.get(secondId), 'second key flushed in the same batch')

  // A later use is flushed when the app closes (the database must still be open then).
  await new Promise((r) => setTimeout(r, 5))
  await app.inject({ url: '/api/client/account', headers: bearer(second) })
  const usedAt = Date.now()
  await app.close()
  const atClose = await rows()
  t.ok(atClose.get(secondId)!.getTime() >= flushed.get(secondId)!.getTime(), 'flushed at close')
  t.ok(atClose.get(secondId)!.getTime() <= usedAt, 'time is the last use')
  t.ok(atClose.get(secondId)!.getTime() > flushed.get(secondId)!.getTime(), 'the close flush moved it forward')
})
