/**
 * Application API for servers (CRUD, envelopes, every reference form, validation), the client
 * list filters, subuser rules, and the demo server created on first start.
 */
import t from 'tap'
import { bearer } from '../helper.js'
import { setup } from './console-helpers.js'

t.test('application API, client list, subusers, demo server', async (t) => {
  const env = await setup(t, { DEMO_SERVER: 'true' })
  const admin = env.adminKey
  const inject = (method: string, url: string, key: string, payload?: object) =>
    env.app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload ? { payload } : {}) })

  await t.test('the demo server exists, belongs to the admin and starts', async (t) => {
    const list = (await inject('GET', '/api/application/servers', admin)).json()
    t.equal(list.object, 'list')
    t.equal(list.data.length, 1)
    const demo = list.data[0].attributes
    t.equal(demo.user, env.admin.id)
    const { client, status } = await env.connect(demo.uuid, env.admin.clientKey)
    if (status !== 'running') await client.status('running')
    client.send('send command', 'help')
    await client.line('Available commands: help, list, say <text>, stop')
    client.send('set state', 'stop')
    await client.status('offline')
    await client.end()
  })

  await t.test('create validation and reference forms', async (t) => {
    const base = { name: 'x', user: env.admin.id, command: process.execPath }
    const bad = await inject('POST', '/api/application/servers', admin, { ...base, done_pattern: '(' })
    t.equal(bad.statusCode, 422)
    t.equal(bad.json().errors[0].meta.source_field, 'done_pattern')
    t.equal((await inject('POST', '/api/application/servers', admin, { ...base, cwd: 'relative/dir' })).statusCode, 422)
    t.equal((await inject('POST', '/api/application/servers', admin, { ...base, user: 999999 })).statusCode, 422)
    t.equal((await inject('POST', '/api/application/servers', admin, { ...base, stop: { type: 'signal', value: 'SIGFOO' } })).statusCode, 422)
    t.equal((await inject('POST', '/api/application/servers', admin, { ...base, environment: { 'BAD-NAME': 'x' } })).statusCode, 422)
    t.equal((await inject('POST', '/api/application/servers', env.admin.clientKey, base)).statusCode, 403, 'client keys cannot define servers')
    const s = await env.server({ name: 'refs' })
    for (const ref of [String(s.id), s.uuid, s.identifier]) {
      const r = await inject('GET', `/api/application/servers/${ref}`, admin)
      t.equal(r.json().attributes.uuid, s.uuid, `by ${ref}`)
    }
    const got = (await inject('GET', `/api/application/servers/${s.uuid}`, admin)).json()
    t.equal(got.object, 'server')
    t.match(got.attributes.container.cwd, new RegExp(`/servers/${s.uuid}$`), 'default cwd under DATA_DIR')
    const patched = await inject('PATCH', `/api/application/servers/${s.identifier}`, admin, { name: 'renamed', limits: { memory: 256 } })
    t.equal(patched.json().attributes.name, 'renamed')
    t.equal(patched.json().attributes.limits.memory, 256)
    const { client } = await env.connect(s.uuid, env.admin.clientKey)
    client.send('set state', 'start')
    await client.status('running')
    t.equal((await inject('DELETE', `/api/application/servers/${s.id}`, admin)).statusCode, 204)
    t.match(await client.closed, { code: 1001, reason: 'server deleted' }, 'deleting a server closes its console sockets with 1001, as Wings')
    t.equal((await inject('GET', `/api/application/servers/${s.uuid}`, admin)).statusCode, 404)
  })

  await t.test('client list filters and subuser rules', async (t) => {
    const alice = await env.user('alice@example.test')
    const bob = await env.user('bob@example.test')
    const mine = await env.server({ name: 'alice', user: alice.id })
    const list = async (key: string, q = '') => (await env.get(`/api/client${q}`, key)).body.data.map((d: any) => d.attributes.uuid)
    t.same(await list(alice.key), [mine.uuid])
    t.same(await list(bob.key), [])
    t.ok((await list(env.admin.clientKey, '?type=admin')).includes(mine.uuid), 'admins see every server with type=admin')
    t.same(await list(bob.key, '?type=admin'), [], 'type=admin means nothing for non-admins')
    const users = `/api/client/servers/${mine.uuid}/users`
    t.equal((await env.post(users, alice.key, { email: alice.email, permissions: [] })).status, 400, 'the owner cannot be a subuser')
    t.equal((await env.post(users, alice.key, { email: 'nobody@example.test', permissions: [] })).status, 422)
    t.equal((await env.post(users, alice.key, { email: bob.email, permissions: ['bogus.perm'] })).status, 422)
    const created = await env.post(users, alice.key, { email: bob.email, permissions: ['user.create', 'control.start'] })
    t.equal(created.status, 200)
    t.equal(created.body.object, 'server_subuser')
    t.same(created.body.attributes.permissions, ['control.start', 'user.create', 'websocket.connect'])
    t.equal((await env.post(users, alice.key, { email: bob.email, permissions: [] })).status, 400, 'no duplicates')
    t.same(await list(bob.key), [mine.uuid], 'subusers see the server')
    const carol = await env.user('carol@example.test')
    const escalate = await env.post(users, bob.key, { email: carol.email, permissions: ['control.console'] })
    t.equal(escalate.status, 403, 'a subuser cannot grant what it does not hold')
    t.equal((await env.post(users, bob.key, { email: carol.email, permissions: ['control.start'] })).status, 200)
    const listed = await env.get(users, alice.key)
    t.same(listed.body.data.map((d: any) => d.attributes.email).sort(), [bob.email, carol.email])
    const activity = await env.get(`/api/client/servers/${mine.uuid}/activity`, alice.key)
    t.same(activity.body.data.map((d: any) => d.attributes.event), ['server:subuser.create', 'server:subuser.create'])
    const perms = await env.get('/api/client/permissions', bob.key)
    t.ok(perms.body.attributes.permissions.control.keys.console)
  })
})
