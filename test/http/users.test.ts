/**
 * Application API users CRUD: create (with and without a first client key), read by id and uuid,
 * list with pagination bounds, filters and sort, update, delete, duplicate email/username, and
 * the guards (client keys and non-administrators' application keys are refused).
 */
import t from 'tap'
import { ADMIN_EMAIL, bearer, build } from '../helper.js'
import { createUser, expectError, login } from './support.js'

interface UserAttrs {
  id: number
  uuid: string
  username: string | null
  email: string
  root_admin: boolean
  created_at: string
  updated_at: string
}
interface UserList {
  object: 'list'
  data: Array<{ object: 'user'; attributes: UserAttrs }>
  meta: { pagination: { total: number; count: number; per_page: number; current_page: number; total_pages: number } }
}

t.test('users CRUD through the Application API', async (t) => {
  const { app, adminKey } = await build(t)
  const auth = bearer(adminKey)

  // Four users besides the admin: enough for pagination without many scrypt hashes.
  const alice = await createUser(app, adminKey, { email: 'Alice@Example.test', username: 'alice' })
  const bob = await createUser(app, adminKey, { email: 'bob@example.test', withKey: true })
  await createUser(app, adminKey, { email: 'carol@other.test' })
  await createUser(app, adminKey, { email: 'dave@example.test' })

  t.test('create returns the user envelope; email is normalised', async (t) => {
    t.equal(alice.email, 'alice@example.test')
    t.match(alice.uuid, /^[0-9a-f-]{36}$/)
    t.match(bob.key, /^whc_[A-Za-z0-9]{44}$/, 'with_client_key returns a client key once')
    const res = await app.inject({ url: '/api/client/account', headers: bearer(bob.key!) })
    t.equal(res.statusCode, 200, 'the first client key works')
    t.equal(res.json().attributes.email, 'bob@example.test')
  })

  t.test('read by id and by uuid', async (t) => {
    for (const ref of [String(alice.id), alice.uuid, alice.uuid.toUpperCase()]) {
      const res = await app.inject({ url: `/api/application/users/${ref}`, headers: auth })
      t.equal(res.statusCode, 200, ref)
      const body = res.json<{ object: string; attributes: UserAttrs }>()
      t.equal(body.object, 'user')
      t.same(Object.keys(body.attributes).sort(), ['created_at', 'email', 'id', 'root_admin', 'updated_at', 'username', 'uuid'])
      t.equal(body.attributes.username, 'alice')
    }
    expectError(t, await app.inject({ url: '/api/application/users/999999', headers: auth }), 404, 'unknown id')
    expectError(t, await app.inject({ url: '/api/application/users/9999999999', headers: auth }), 404, 'id above int4')
    expectError(t, await app.inject({ url: '/api/application/users/00000000-0000-0000-0000-000000000000', headers: auth }), 404, 'unknown uuid')
    const bad = expectError(t, await app.inject({ url: '/api/application/users/not-a-ref', headers: auth }), 422, 'malformed ref')
    t.equal(bad.errors[0]!.meta?.source_field, 'user')
  })

  t.test('list: pagination envelope and bounds', async (t) => {
    const res = await app.inject({ url: '/api/application/users?per_page=2&page=2', headers: auth })
    t.equal(res.statusCode, 200)
    const body = res.json<UserList>()
    t.equal(body.object, 'list')
    t.same(body.meta.pagination, { total: 5, count: 2, per_page: 2, current_page: 2, total_pages: 3 })
    t.same(body.data.map((u) => u.attributes.email), ['bob@example.test', 'carol@other.test'])

    const past = (await app.inject({ url: '/api/application/users?per_page=2&page=9', headers: auth })).json<UserList>()
    t.same(past.data, [], 'a page past the end is empty, not an error')
    t.equal(past.meta.pagination.total, 5)

    const dflt = (await app.inject({ url: '/api/application/users', headers: auth })).json<UserList>()
    t.equal(dflt.meta.pagination.per_page, 50, 'default per_page')
    t.equal(dflt.meta.pagination.current_page, 1, 'default page')

    for (const [query, field] of [
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=abc', 'page'],
      ['per_page=0', 'per_page'],
      ['per_page=101', 'per_page'],
      ['sort=password', 'sort'],
    ] as const) {
      const err = expectError(t, await app.inject({ url: `/api/application/users?${query}`, headers: auth }), 422, query)
      t.ok(err.errors.some((e) => e.meta?.source_field === field), `${query} names ${field}`)
    }
    t.equal((await app.inject({ url: '/api/application/users?per_page=100', headers: auth })).statusCode, 200, 'per_page=100 is allowed')
  })

  t.test('list: filters and sort', async (t) => {
    const emails = async (q: string) =>
      (await app.inject({ url: `/api/application/users?${q}`, headers: auth })).json<UserList>().data.map((u) => u.attributes.email)
    t.same(await emails('filter[email]=example.test&sort=email'), [ADMIN_EMAIL, 'alice@example.test', 'bob@example.test', 'dave@example.test'])
    t.same(await emails('filter[email]=CAROL'), ['carol@other.test'], 'email filter is case-insensitive')
    t.same(await emails(`filter[uuid]=${alice.uuid}`), ['alice@example.test'])
    t.same(await emails('filter[uuid]=nonsense'), [], 'a malformed uuid filter matches nothing')
    t.same(await emails('filter[username]=ali'), ['alice@example.test'])
    t.same(await emails('sort=-email'), ['dave@example.test', 'carol@other.test', 'bob@example.test', 'alice@example.test', ADMIN_EMAIL])
    const byId = await emails('sort=-id')
    t.equal(byId[0], 'dave@example.test')
    t.equal(byId.at(-1), ADMIN_EMAIL)
    t.equal((await emails('sort=-created_at')).length, 5)
  })

  t.test('duplicate email and username are 422 naming the field', async (t) => {
    for (const email of ['alice@example.test', 'ALICE@example.test']) {
      const res = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload: { email, password: 'long enough pw' } })
      const err = expectError(t, res, 422, email)
      t.equal(err.errors[0]!.meta?.source_field, 'email')
    }
    const dupName = await app.inject({
      method: 'POST', url: '/api/application/users', headers: auth,
      payload: { email: 'new@example.test', username: 'alice', password: 'long enough pw' },
    })
    t.equal(expectError(t, dupName, 422, 'username').errors[0]!.meta?.source_field, 'username')
    const patch = await app.inject({ method: 'PATCH', url: `/api/application/users/${bob.id}`, headers: auth, payload: { email: 'alice@example.test' } })
    t.equal(expectError(t, patch, 422, 'update to a taken email').errors[0]!.meta?.source_field, 'email')
  })

  t.test('create validation', async (t) => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ password: 'long enough pw' }, 'email'],
      [{ email: 'not-an-email', password: 'long enough pw' }, 'email'],
      [{ email: 'short@example.test', password: 'seven77' }, 'password'],
      [{ email: 'long@example.test', password: 'x'.repeat(513) }, 'password'],
      [{ email: 'extra@example.test', password: 'long enough pw', is_admin: true }, 'is_admin'],
      [{ email: 'name@example.test', username: 'no spaces allowed' }, 'username'],
      [{ email: 'type@example.test', root_admin: 'yes please' }, 'root_admin'],
    ]
    for (const [payload, field] of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload })
      const err = expectError(t, res, 422, JSON.stringify(payload).slice(0, 60))
      t.ok(err.errors.some((e) => e.meta?.source_field === field), `names ${field}: ${err.errors.map((e) => e.detail).join('; ')}`)
    }
  })

  t.test('update', async (t) => {
    const res = await app.inject({
      method: 'PATCH', url: `/api/application/users/${alice.uuid}`, headers: auth,
      payload: { username: null, root_admin: true },
    })
    t.equal(res.statusCode, 200)
    t.equal(res.json().attributes.username, null)
    t.equal(res.json().attributes.root_admin, true)
    expectError(t, await app.inject({ method: 'PATCH', url: `/api/application/users/${alice.id}`, headers: auth, payload: {} }), 422, 'empty patch')
    expectError(t, await app.inject({ method: 'PATCH', url: '/api/application/users/424242', headers: auth, payload: { username: 'x' } }), 404, 'unknown user')
    const shortPw = await app.inject({ method: 'PATCH', url: `/api/application/users/${alice.id}`, headers: auth, payload: { password: 'short' } })
    t.equal(expectError(t, shortPw, 422, 'short password').errors[0]!.meta?.source_field, 'password')
  })

  t.test('delete', async (t) => {
    const victim = await createUser(app, adminKey, { email: 'victim@example.test', withKey: true })
    t.equal((await app.inject({ url: '/api/client/account', headers: bearer(victim.key!) })).statusCode, 200)
    const del = await app.inject({ method: 'DELETE', url: `/api/application/users/${victim.id}`, headers: auth })
    t.equal(del.statusCode, 204)
    t.equal(del.body, '')
    expectError(t, await app.inject({ url: '/api/client/account', headers: bearer(victim.key!) }), 401, "deleted user's key")
    expectError(t, await app.inject({ method: 'DELETE', url: `/api/application/users/${victim.id}`, headers: auth }), 404, 'delete twice')
    const self = await app.inject({ method: 'DELETE', url: '/api/application/users/1', headers: auth })
    t.equal(expectError(t, self, 422, 'delete self').errors[0]!.meta?.source_field, 'user')
  })

  t.test('guards: credentials and key types', async (t) => {
    expectError(t, await app.inject({ url: '/api/application/users' }), 401, 'no credential')
    expectError(t, await app.inject({ url: '/api/application/users', headers: { authorization: 'Bearer nonsense' } }), 401, 'malformed key')
    expectError(t, await app.inject({ url: '/api/application/users', headers: { authorization: 'Basic abc' } }), 401, 'not a bearer')
    const wrongSecret = adminKey.slice(0, 16) + 'B'.repeat(32)
    expectError(t, await app.inject({ url: '/api/application/users', headers: bearer(wrongSecret) }), 401, 'right identifier, wrong secret')
    const unknown = 'wha_' + 'Z'.repeat(44)
    expectError(t, await app.inject({ url: '/api/application/users', headers: bearer(unknown) }), 401, 'unknown identifier')

    const client = expectError(t, await app.inject({ url: '/api/application/users', headers: bearer(bob.key!) }), 403, 'client key')
    t.equal(client.errors[0]!.detail, 'You are attempting to use a client API key on an endpoint that requires an application API key.')

    // A non-administrator cannot mint an application key, with a client key or with a session.
    const notAdminMint = await app.inject({ method: 'POST', url: '/api/application/api-keys', headers: bearer(bob.key!), payload: { description: 'x' } })
    expectError(t, notAdminMint, 403, 'client key minting an application key')

    // A second administrator (created through the API) gets an application key through a
    // browser session, as Pterodactyl's admin panel does; once demoted, that key is refused.
    await createUser(app, adminKey, { email: 'admin2@example.test', root_admin: true })
    const session = await login(app, 'admin2@example.test', 'a sufficiently long password')
    const mint = await app.inject({
      method: 'POST', url: '/api/application/api-keys',
      cookies: session.cookies, headers: { 'x-csrf-token': session.csrf }, payload: { description: 'admin2 key' },
    })
    t.equal(mint.statusCode, 201, 'an administrator session can mint an application key')
    const appKey2 = mint.json().meta.api_key as string
    t.match(appKey2, /^wha_/)
    t.equal((await app.inject({ url: '/api/application/users', headers: bearer(appKey2) })).statusCode, 200, "second admin's application key works")
    // The dashboard's admin pages use the administrator's session on the Application API.
    t.equal((await app.inject({ url: '/api/application/users', cookies: session.cookies })).statusCode, 200, "an administrator's session on the users API")

    const admin2 = (await app.inject({ url: '/api/application/users?filter[email]=admin2', headers: auth })).json<UserList>().data[0]!.attributes
    await app.inject({ method: 'PATCH', url: `/api/application/users/${admin2.id}`, headers: auth, payload: { root_admin: false } })
    const demoted = expectError(t, await app.inject({ url: '/api/application/users', headers: bearer(appKey2) }), 403, "demoted admin's application key")
    t.match(demoted.errors[0]!.detail, /administrator/)
    expectError(t, await app.inject({ url: '/api/application/users', cookies: session.cookies }), 403, "demoted admin's session on the users API")

    const bobSession = await login(app, 'bob@example.test', 'a sufficiently long password')
    const bobMint = await app.inject({
      method: 'POST', url: '/api/application/api-keys',
      cookies: bobSession.cookies, headers: { 'x-csrf-token': bobSession.csrf }, payload: { description: 'nope' },
    })
    expectError(t, bobMint, 403, "a non-administrator's session cannot mint an application key")
  })
})
