/**
 * Password changes end sessions: an administrator setting a user's password ends all of them;
 * a user changing their own password (`PUT /api/client/account/password`) must give the current
 * one and keeps the session they changed it from, while every other session ends; an operator
 * resets a password from the shell with `npm run admin:reset-password`.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { entryArgs } from '../entry-point.js'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build } from '../helper.js'
import { createUser, expectError, login } from '../http/support.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.test('a new password ends existing sessions', async (t) => {
  const { app, adminKey } = await build(t, { env: { DEMO_SERVER: 'false' } })
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
  t.equal(login.statusCode, 200)
  const cookie = login.cookies.find((c) => c.name === 'wirehub_session')!
  const account = () => app.inject({ method: 'GET', url: '/api/client/account', cookies: { wirehub_session: cookie.value } })
  t.equal((await account()).statusCode, 200, 'the session works')
  const me = (await account()).json().attributes.id as number
  const changed = await app.inject({ method: 'PATCH', url: `/api/application/users/${me}`, headers: bearer(adminKey), payload: { password: 'a completely new password' } })
  t.equal(changed.statusCode, 200)
  t.equal((await account()).statusCode, 401, 'the old session is refused after the password change')
  const relogin = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: 'a completely new password' } })
  t.equal(relogin.statusCode, 200, 'the new password logs in')
})

t.test('own password change: current password required, other sessions end, this one stays', async (t) => {
  const { app, adminKey, config } = await build(t, { env: { DEMO_SERVER: 'false' } })
  const OLD = 'the old long password'
  const NEW = 'the brand new password'
  await createUser(app, adminKey, { email: 'own@example.test', password: OLD })
  const a = await login(app, 'own@example.test', OLD)
  const b = await login(app, 'own@example.test', OLD)
  const put = (s: typeof a, payload: unknown) =>
    app.inject({ method: 'PUT', url: '/api/client/account/password', cookies: s.cookies, headers: { 'x-csrf-token': s.csrf }, payload: payload as Record<string, unknown> })
  const account = (s: typeof a) => app.inject({ url: '/api/client/account', cookies: s.cookies })

  const sessions = await app.inject({ url: '/api/client/account/sessions', cookies: a.cookies })
  t.equal(sessions.statusCode, 200)
  const list = sessions.json().data.map((d: { attributes: { id: number; current: boolean } }) => d.attributes)
  t.equal(list.length, 2, 'both sessions are listed')
  t.equal(list.filter((s: { current: boolean }) => s.current).length, 1, 'one of them is marked current')

  const wrong = expectError(t, await put(a, { current_password: 'not the password', password: NEW }), 422, 'wrong current password')
  t.equal(wrong.errors[0]!.meta?.source_field, 'current_password')
  expectError(t, await put(a, { current_password: OLD, password: 'short' }), 422, 'too short a new password')
  expectError(t, await put(a, { current_password: OLD, password: NEW, password_confirmation: 'something else' }), 422, 'confirmation mismatch')
  expectError(t, await put(a, { password: NEW }), 422, 'no current password')
  expectError(t, await app.inject({ method: 'PUT', url: '/api/client/account/password', cookies: a.cookies, payload: { current_password: OLD, password: NEW } }), 403, 'no CSRF token')
  t.equal((await account(b)).statusCode, 200, 'refused attempts end nothing')

  t.equal((await put(a, { current_password: OLD, password: NEW, password_confirmation: NEW })).statusCode, 204)
  t.equal((await account(a)).statusCode, 200, 'the session that changed the password stays signed in')
  t.equal((await account(b)).statusCode, 401, 'the other session ended')
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'own@example.test', password: OLD } })).statusCode, 401, 'the old password no longer works')
  const c = await login(app, 'own@example.test', NEW)

  // Ending one of one's own sessions; someone else's is not found.
  const cId = (await app.inject({ url: '/api/client/account/sessions', cookies: c.cookies })).json().data.find((d: { attributes: { current: boolean } }) => d.attributes.current).attributes.id as number
  const adminSession = await login(app, ADMIN_EMAIL, ADMIN_PASSWORD)
  expectError(t, await app.inject({ method: 'DELETE', url: `/api/client/account/sessions/${cId}`, cookies: adminSession.cookies, headers: { 'x-csrf-token': adminSession.csrf } }), 404, "another user's session")
  expectError(t, await app.inject({ method: 'DELETE', url: '/api/client/account/sessions/abc', cookies: a.cookies, headers: { 'x-csrf-token': a.csrf } }), 422, 'a malformed id')
  t.equal((await account(c)).statusCode, 200, 'still signed in')
  t.equal((await app.inject({ method: 'DELETE', url: `/api/client/account/sessions/${cId}`, cookies: a.cookies, headers: { 'x-csrf-token': a.csrf } })).statusCode, 204)
  t.equal((await account(c)).statusCode, 401, 'the ended session is refused')

  // The operator's way back: reset from the shell, then the printed password logs in.
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [...entryArgs('admin-reset-password'), ...args], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: config.DATABASE_URL!, SOCKET_TOKEN_SECRET: config.SOCKET_TOKEN_SECRET!, LOG_LEVEL: 'silent' },
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }))
    })
  t.equal((await run([])).code, 2, 'no email: usage')
  t.equal((await run(['nobody@example.test'])).code, 3, 'unknown email')
  const reset = await run([ADMIN_EMAIL])
  t.equal(reset.code, 0, reset.stderr)
  const printed = /new password \(shown once\): (\S+)/.exec(reset.stdout)?.[1]
  t.ok(printed && printed.length >= 20, 'a new random password is printed')
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })).statusCode, 401, 'the old administrator password is refused')
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: printed } })).statusCode, 200, 'the printed password logs in')
})

t.test("an administrator's session may use the Application API (the dashboard's admin pages), a user's may not", async (t) => {
  const { app, adminKey } = await build(t, { env: { DEMO_SERVER: 'false' } })
  const admin = await login(app, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.equal((await app.inject({ url: '/api/application/users', cookies: admin.cookies })).statusCode, 200, 'admin session reads users')
  t.equal((await app.inject({ url: '/api/application/servers', cookies: admin.cookies })).statusCode, 200, 'admin session reads servers')
  expectError(t, await app.inject({ method: 'POST', url: '/api/application/users', cookies: admin.cookies, payload: { email: 'x@example.test' } }), 403, 'a write without the CSRF token')
  const created = await app.inject({ method: 'POST', url: '/api/application/users', cookies: admin.cookies, headers: { 'x-csrf-token': admin.csrf }, payload: { email: 'x@example.test', password: 'a sufficiently long password' } })
  t.equal(created.statusCode, 201, 'admin session creates a user with the CSRF token')
  const user = await login(app, 'x@example.test', 'a sufficiently long password')
  expectError(t, await app.inject({ url: '/api/application/users', cookies: user.cookies }), 403, "a user's session")
  expectError(t, await app.inject({ url: '/api/application/users' }), 401, 'no credential')
  t.equal((await app.inject({ url: '/api/application/users', headers: bearer(adminKey) })).statusCode, 200, 'application keys still work')
})
