/**
 * The error envelope: bad JSON (400), schema violations (422 naming the field in
 * meta.source_field), oversized bodies (413), unsupported media types (415), unknown routes
 * (404) and internal failures (500 without internals) all leave as Pterodactyl's
 * `{"errors":[{code,status,detail}],"request_id"}` with the x-request-id header.
 */
import t from 'tap'
import { bearer, build } from '../helper.js'
import { expectError } from './support.js'

t.test('error envelope', async (t) => {
  const BODY_LIMIT = 2048
  const { app, adminKey } = await build(t, { env: { BODY_LIMIT: String(BODY_LIMIT) } })
  const auth = { ...bearer(adminKey), 'content-type': 'application/json' }

  t.test('bad JSON is 400', async (t) => {
    for (const payload of ['{bad', '{"email":', '[1,2', '{"__proto__":{"x":1}}']) {
      const res = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload })
      const err = expectError(t, res, 400, payload)
      t.equal(err.errors[0]!.code, 'BadRequestHttpException')
    }
    const empty = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload: '' })
    expectError(t, empty, 400, 'empty JSON body')
  })

  t.test('schema violations are 422 naming the field', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload: { email: 42, password: 'x', nope: true } })
    const err = expectError(t, res, 422, 'several problems')
    const fields = err.errors.map((e) => e.meta?.source_field).sort()
    t.same(fields, ['email', 'nope', 'password'], 'every bad field is named (allErrors)')
    for (const e of err.errors) {
      t.equal(e.code, 'ValidationException')
      t.match(e.detail, new RegExp(`^${e.meta!.source_field}: `), 'detail starts with the field')
    }
    const arr = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload: '[]' })
    expectError(t, arr, 422, 'array instead of object')
    const q = expectError(t, await app.inject({ url: '/api/application/users?per_page=x', headers: auth }), 422, 'query')
    t.equal(q.errors[0]!.meta?.source_field, 'per_page')
    t.match(q.errors[0]!.detail, /^querystring\.per_page: /)
  })

  t.test('oversized bodies are 413', async (t) => {
    const big = JSON.stringify({ email: 'big@example.test', password: 'p'.repeat(BODY_LIMIT) })
    const res = await app.inject({ method: 'POST', url: '/api/application/users', headers: auth, payload: big })
    const err = expectError(t, res, 413, 'body over BODY_LIMIT')
    t.equal(err.errors[0]!.code, 'PayloadTooLargeHttpException')
    // Also before authentication: the limit protects every route.
    const anon = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: big })
    expectError(t, anon, 413, 'unauthenticated oversized body')
  })

  t.test('unsupported media type is 415', async (t) => {
    const xml = await app.inject({ method: 'POST', url: '/api/application/users', headers: { ...bearer(adminKey), 'content-type': 'application/xml' }, payload: '<a/>' })
    expectError(t, xml, 415, 'application/xml')
    // text/plain is parsed as a string, which the body schema then refuses.
    const text = await app.inject({ method: 'POST', url: '/api/application/users', headers: { ...bearer(adminKey), 'content-type': 'text/plain' }, payload: 'hello' })
    expectError(t, text, 422, 'text/plain')
  })

  t.test('unknown routes are 404 in the same envelope', async (t) => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['GET', '/api/client/nope'],
      ['DELETE', '/api/application/users'],
      ['POST', '/health'],
      ['GET', '/api/application/nope?key=secret'],
    ] as const) {
      const err = expectError(t, await app.inject({ method, url, headers: bearer(adminKey) }), 404, `${method} ${url}`)
      t.equal(err.errors[0]!.code, 'NotFoundHttpException')
      t.notMatch(err.errors[0]!.detail, 'secret', 'the query string is not echoed')
    }
  })

  t.test('every response carries x-request-id; error bodies name it', async (t) => {
    const ok = await app.inject({ url: '/health' })
    t.match(ok.headers['x-request-id'], /^[0-9a-f-]{36}$/)
    const a = expectError(t, await app.inject({ url: '/nope' }), 404)
    const b = expectError(t, await app.inject({ url: '/nope' }), 404)
    t.not(a.request_id, b.request_id, 'request ids are unique')
  })

})

t.test('a database failure surfaces as a generic 500', async (t) => {
  const { app, adminKey } = await build(t)
  // Warm the key cache, then break the database under the app.
  t.equal((await app.inject({ url: '/api/application/users', headers: bearer(adminKey) })).statusCode, 200)
  await app.prisma.$executeRawUnsafe('alter table users rename to users_gone')
  const res = await app.inject({ url: '/api/application/users', headers: bearer(adminKey) })
  const err = expectError(t, res, 500, 'query on a missing table')
  t.equal(err.errors[0]!.code, 'HttpException')
  t.notMatch(res.body, /users_gone|relation|prisma|postgres|stack|at /i, 'no internals in the body')
  await app.prisma.$executeRawUnsafe('alter table users_gone rename to users')
})
