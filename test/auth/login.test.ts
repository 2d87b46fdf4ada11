/**
 * Browser login: `POST /api/auth/login` sets the http-only SameSite session cookie and the CSRF
 * cookie; the session works on the Client API; cookie writes need X-CSRF-Token; logout ends the
 * session; failed logins lock out per account and per IP (429 + Retry-After), unknown emails
 * taking the same path as wrong passwords.
 */
import t from 'tap'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build } from '../helper.js'
import { createUser, expectError, login } from '../http/support.js'

const PASSWORD = 'a sufficiently long password'

t.test('session cookie, CSRF and logout', async (t) => {
  const { app, adminKey } = await build(t)
  await createUser(app, adminKey, { email: 'web@example.test', password: PASSWORD })

  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'Web@Example.test', password: PASSWORD } })
  t.equal(res.statusCode, 200, 'email is case-insensitive')
  const body = res.json()
  t.equal(body.object, 'user')
  t.equal(body.attributes.email, 'web@example.test')
  t.equal(body.attributes.admin, false)
  const session = res.cookies.find((c) => c.name === 'wirehub_session')!
  const csrf = res.cookies.find((c) => c.name === 'wirehub_csrf')!
  t.ok(session.httpOnly, 'session cookie is http-only')
  t.equal(session.sameSite, 'Lax')
  t.equal(session.path, '/')
  t.notOk(session.secure, 'not Secure on plain http')
  t.ok(session.maxAge! > 0)
  t.notOk(csrf.httpOnly, 'the CSRF cookie is readable by the page')
  t.equal(csrf.sameSite, 'Strict')
  t.equal(body.meta.csrf_token, csrf.value, 'the CSRF token is also in the body')
  t.notOk(res.body.includes(session.value), 'the session token is only in the cookie')
  const cookies = { wirehub_session: session.value, wirehub_csrf: csrf.value }

  const account = await app.inject({ url: '/api/client/account', cookies })
  t.equal(account.statusCode, 200, 'the session works on the Client API')
  t.equal(account.json().attributes.email, 'web@example.test')

  const noToken = expectError(t, await app.inject({ method: 'POST', url: '/api/client/account/api-keys', cookies, payload: { description: 'web' } }), 403, 'cookie write without X-CSRF-Token')
  t.match(noToken.errors[0]!.detail, /CSRF/)
  expectError(t, await app.inject({
    method: 'POST', url: '/api/client/account/api-keys', cookies, headers: { 'x-csrf-token': 'x'.repeat(32) }, payload: { description: 'web' },
  }), 403, 'wrong X-CSRF-Token')
  expectError(t, await app.inject({
    method: 'POST', url: '/api/client/account/api-keys', cookies: { wirehub_session: session.value }, headers: { 'x-csrf-token': csrf.value }, payload: { description: 'web' },
  }), 403, 'header without the CSRF cookie')
  const ok = await app.inject({ method: 'POST', url: '/api/client/account/api-keys', cookies, headers: { 'x-csrf-token': csrf.value }, payload: { description: 'web' } })
  t.equal(ok.statusCode, 201, 'cookie write with the CSRF token')
  const identifier = ok.json().attributes.identifier as string
  const del = await app.inject({ method: 'DELETE', url: `/api/client/account/api-keys/${identifier}`, cookies, headers: { 'x-csrf-token': csrf.value } })
  t.equal(del.statusCode, 204, 'cookie delete with the CSRF token')

  expectError(t, await app.inject({ url: '/api/client/account', cookies: { wirehub_session: 'x'.repeat(43) } }), 401, 'unknown session')
  expectError(t, await app.inject({ url: '/api/client/account', cookies: { wirehub_session: 'garbage' } }), 401, 'malformed session')
  expectError(t, await app.inject({ url: '/api/application/users', cookies }), 403, 'a session on the Application API')

  expectError(t, await app.inject({ method: 'POST', url: '/api/auth/logout', cookies }), 403, 'logout without the CSRF token (a cross-site form)')
  t.equal((await app.inject({ url: '/api/client/account', cookies })).statusCode, 200, 'the session survives a refused logout')
  const out = await app.inject({ method: 'POST', url: '/api/auth/logout', cookies, headers: { 'x-csrf-token': csrf.value } })
  t.equal(out.statusCode, 204)
  const cleared = out.cookies.find((c) => c.name === 'wirehub_session')
  t.ok(cleared && (cleared.value === '' || (cleared.expires && cleared.expires.getTime() < Date.now())), 'logout clears the cookie')
  expectError(t, await app.inject({ url: '/api/client/account', cookies }), 401, 'the old cookie after logout')
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/logout' })).statusCode, 204, 'logout without a session is harmless')

  // Sessions end when the user is deleted.
  const again = await login(app, 'web@example.test', PASSWORD)
  const u = (await app.inject({ url: '/api/application/users?filter[email]=web@', headers: bearer(adminKey) })).json().data[0].attributes
  t.equal((await app.inject({ method: 'DELETE', url: `/api/application/users/${u.id}`, headers: bearer(adminKey) })).statusCode, 204)
  expectError(t, await app.inject({ url: '/api/client/account', cookies: again.cookies }), 401, "a deleted user's session")

  t.test('login validation', async (t) => {
    expectError(t, await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL } }), 422, 'missing password')
    expectError(t, await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: 'x'.repeat(600) } }), 422, 'password over 512')
    expectError(t, await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, remember: true } }), 422, 'unknown field')
  })
})

t.test('Secure cookies behind https', async (t) => {
  const { app } = await build(t, { env: { PUBLIC_URL: 'https://wirehub.example.test' } })
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
  t.equal(res.statusCode, 200)
  for (const c of res.cookies) t.ok(c.secure, `${c.name} is Secure`)
})

t.test('lockout per account and per IP', async (t) => {
  const { app, adminKey } = await build(t, { env: { LOGIN_MAX_FAILURES: '3', LOGIN_IP_MAX_FAILURES: '5', LOGIN_LOCKOUT: '600' } })
  await createUser(app, adminKey, { email: 'victim@example.test', password: PASSWORD })
  const attempt = (email: string, password: string, remoteAddress: string) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress })

  t.test('per account, from many IPs', async (t) => {
    for (let i = 1; i <= 3; i++) {
      const res = await attempt('victim@example.test', 'wrong password', `192.0.2.${i}`)
      const err = expectError(t, res, 401, `failure ${i}`)
      t.equal(err.errors[0]!.detail, 'Unauthenticated.')
    }
    const locked = await attempt('victim@example.test', PASSWORD, '192.0.2.99')
    const err = expectError(t, locked, 429, 'locked even with the right password')
    const retry = Number(locked.headers['retry-after'])
    t.ok(retry > 0 && retry <= 600, `Retry-After ${retry}`)
    t.equal(err.errors[0]!.code, 'TooManyRequestsHttpException')
    const caseVariant = await attempt('VICTIM@example.test', PASSWORD, '192.0.2.98')
    t.equal(caseVariant.statusCode, 429, 'the lock is on the normalised account')
    t.equal((await attempt(ADMIN_EMAIL, ADMIN_PASSWORD, '192.0.2.97')).statusCode, 200, 'other accounts are unaffected')
  })

  t.test('unknown emails take the same path and count per IP', async (t) => {
    const wrongPw = await attempt(ADMIN_EMAIL, 'wrong password', '198.51.100.7')
    const unknown = await attempt('nobody@example.test', 'wrong password', '198.51.100.7')
    t.equal(unknown.statusCode, wrongPw.statusCode, 'same status for unknown email and wrong password')
    t.same(unknown.json().errors[0].detail, wrongPw.json().errors[0].detail, 'same message')
    for (let i = 0; i < 3; i++) await attempt(`nobody${i}@example.test`, 'x', '198.51.100.7')
    const locked = await attempt(ADMIN_EMAIL, ADMIN_PASSWORD, '198.51.100.7')
    expectError(t, locked, 429, 'the IP is locked after LOGIN_IP_MAX_FAILURES, even for a valid login')
    t.ok(Number(locked.headers['retry-after']) > 0, 'Retry-After')
    t.equal((await attempt(ADMIN_EMAIL, ADMIN_PASSWORD, '198.51.100.8')).statusCode, 200, 'another IP is unaffected')
    // Unknown accounts lock out like known ones (no way to enumerate accounts by lockout).
    for (let i = 0; i < 3; i++) await attempt('ghost@example.test', 'x', `203.0.113.${i}`)
    t.equal((await attempt('ghost@example.test', 'x', '203.0.113.50')).statusCode, 429, 'an unknown account locks out too')
  })
})
