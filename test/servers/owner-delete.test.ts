/** Deleting a user who still owns servers is refused with 409, not a database error. */
import t from 'tap'
import { bearer, build } from '../helper.js'

t.test('a server owner cannot be deleted until the servers are gone', async (t) => {
  const { app, adminKey } = await build(t, { env: { DEMO_SERVER: 'false' } })
  const user = await app.inject({ method: 'POST', url: '/api/application/users', headers: bearer(adminKey), payload: { email: 'owner@example.test' } })
  t.equal(user.statusCode, 201)
  const userId = user.json().attributes.id as number
  const server = await app.inject({
    method: 'POST',
    url: '/api/application/servers',
    headers: bearer(adminKey),
    payload: { name: 'owned', user: userId, command: process.execPath, args: ['-e', '0'] },
  })
  t.equal(server.statusCode, 201, server.body)
  const refused = await app.inject({ method: 'DELETE', url: `/api/application/users/${userId}`, headers: bearer(adminKey) })
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { errors: [{ code: 'ConflictHttpException', status: '409', detail: /still owns servers/ }] })
  const gone = await app.inject({ method: 'DELETE', url: `/api/application/servers/${server.json().attributes.uuid}`, headers: bearer(adminKey) })
  t.equal(gone.statusCode, 204)
  const deleted = await app.inject({ method: 'DELETE', url: `/api/application/users/${userId}`, headers: bearer(adminKey) })
  t.equal(deleted.statusCode, 204, 'then the user can be deleted')
})
