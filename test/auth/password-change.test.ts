/** Changing a user's password ends their browser sessions at once. */
import t from 'tap'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build } from '../helper.js'

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
