/**
 * Console socket security: credential endpoint errors, Origin refusal and unknown servers before
 * the upgrade, token expiry and re-auth on the same socket, foreign-server tokens, permission
 * denials (ignored as Wings), error details only for admin tokens, frame limit, throttles, the
 * connection cap, the auth timeout, suspension and revocation.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { KEY_TYPE_CLIENT } from '../../src/modules/auth/api-key.format.js'
import { setup, type ConsoleClient } from './console-helpers.js'

t.test('console socket security', async (t) => {
  const env = await setup(t, { CONSOLE_MAX_SOCKETS: '2', CONSOLE_AUTH_TIMEOUT: '3' })
  const owner = await env.user('owner@example.test')
  const sub = await env.user('sub@example.test')
  const stranger = await env.user('stranger@example.test')
  const server = await env.server({ name: 'secured', user: owner.id })
  const other = await env.server({ name: 'other', user: owner.id })
  const wsUrl = (uuid: string) => `${env.url.replace(/^http/, 'ws')}/api/servers/${uuid}/ws`

  /** Sends `event`, then a `send stats` probe; returns the frames that came before the probe's answer. */
  async function framesBefore(client: ConsoleClient, event: string, ...args: unknown[]) {
    client.send(event, ...args)
    client.send('send stats')
    const before = client.frames.length
    await client.next('stats')
    return client.frames.slice(before).filter((f) => f.event !== 'stats')
  }

  await t.test('credential endpoint errors as Pterodactyl', async (t) => {
    const bad = await env.get(`/api/client/servers/${server.uuid}/websocket`, 'whc_' + 'x'.repeat(44))
    t.equal(bad.status, 401)
    const appKey = await env.get(`/api/client/servers/${server.uuid}/websocket`, env.adminKey)
    t.equal(appKey.status, 403)
    t.match(appKey.body.errors[0].detail, /application API key/)
    t.equal((await env.get(`/api/client/servers/${server.uuid}/websocket`, stranger.key)).status, 404, 'inaccessible → 404')
    t.equal((await env.get(`/api/client/servers/${randomUUID()}/websocket`, owner.key)).status, 404)
    // A subuser stored without websocket.connect (the API always adds it, as Pterodactyl does).
    await env.app.prisma.subuser.create({ data: { serverId: other.id, userId: sub.id, permissions: ['control.console'] } })
    const denied = await env.get(`/api/client/servers/${other.uuid}/websocket`, sub.key)
    t.equal(denied.status, 403)
    t.equal(denied.body.errors[0].detail, "You do not have permission to connect to this server's websocket.")
    const creds = await env.credentials(server.uuid, owner.key)
    const claims = env.app.jwt.decode<Record<string, unknown>>(creds.token)!
    t.same(claims.permissions, ['*'], 'a non-admin owner gets ["*"]')
    t.equal(claims.server_uuid, server.uuid)
  })

  await t.test('refused before the upgrade: origin and unknown server', async (t) => {
    const refused = (p: Promise<unknown>) => p.then(() => 101, (e: { statusCode?: number }) => e.statusCode)
    t.equal(await refused(env.open(wsUrl(server.uuid), 'http://evil.example')), 403, 'foreign Origin refused with HTTP 403')
    t.equal(await refused(env.open(wsUrl(server.uuid), null)), 403, 'missing Origin refused by default')
    t.equal(await refused(env.open(wsUrl(randomUUID()))), 404, 'unknown server: 404 before the upgrade')
  })

  await t.test('foreign-server token, invalid token, malformed frames', async (t) => {
    const foreign = await env.credentials(other.uuid, owner.key)
    const client = await env.open(wsUrl(server.uuid))
    client.raw('{not json')
    client.raw(JSON.stringify({ event: 42 }))
    client.raw(JSON.stringify({ event: 'no such event', args: ['x'] }))
    client.raw(Buffer.from([1, 2, 3]))
    client.send('send stats')
    t.same((await client.next('jwt error')).args, ['jwt: no jwt present'], 'events before auth get jwt error')
    client.send('auth', foreign.token)
    t.match((await client.next('jwt error')).args![0], /^Error Event \[[0-9a-f-]{36}\]: jwt: server uuid mismatch$/)
    client.send('auth', 'not.a.token')
    t.match((await client.next('daemon error')).args![0], /an unexpected error was encountered while handling this request$/)
  })

  await t.test('token expiry and re-auth on the same socket', async (t) => {
    const client = await env.open(wsUrl(server.uuid))
    const short = env.app.jwt.sign(
      { jti: randomUUID(), nbf: Math.floor(Date.now() / 1000), user_uuid: owner.uuid, user_id: owner.id, permissions: ['*'], scope: 'console', cred: await keyRef(owner.key), server_uuid: server.uuid },
      { expiresIn: 2.5 },
    )
    client.send('auth', short)
    await client.next('auth success')
    await client.next('status')
    await client.next('token expiring')
    await client.next('token expired')
    client.send('send stats')
    t.same((await client.next('jwt error')).args, ['jwt: exp claim is invalid'])
    const fresh = await env.credentials(server.uuid, owner.key)
    client.send('auth', fresh.token)
    await client.next('auth success')
    client.send('send stats')
    t.ok(await client.next('stats'), 'streaming resumes without reconnecting')
    await client.end()
    const late = await env.open(wsUrl(server.uuid))
    late.send('auth', short)
    t.match((await late.next('jwt error')).args![0], /jwt: exp claim is invalid/, 'an expired token cannot authenticate')
    await late.end()
  })

  await t.test('permission denials are ignored; details only for admin tokens', async (t) => {
    const r = await env.post(`/api/client/servers/${server.uuid}/users`, owner.key, { email: sub.email, permissions: [] })
    t.equal(r.status, 200)
    t.same(r.body.attributes.permissions, ['websocket.connect'])
    for (const action of ['start', 'stop', 'restart', 'kill']) {
      const { client } = await env.connect(server.uuid, sub.key)
      t.same(await framesBefore(client, 'set state', action), [], `set state ${action} ignored`)
      await client.end()
    }
    const { client } = await env.connect(server.uuid, sub.key)
    t.same(await framesBefore(client, 'send command', 'say hi'), [], 'send command ignored')
    const generic = await framesBefore(client, 'set state', 'explode')
    t.match(generic[0]?.args?.[0], /an unexpected error was encountered/, 'no details without admin.websocket.errors')
    await client.end()
    t.equal(env.app.hub.subscriberCount(`server:${server.uuid}`), 0)
    t.equal((await env.post(`/api/client/servers/${server.uuid}/power`, sub.key, { signal: 'start' })).status, 403)
    t.equal((await env.post(`/api/client/servers/${server.uuid}/command`, sub.key, { command: 'x' })).status, 403)
    t.equal((await env.get(`/api/client/servers/${server.uuid}/activity`, sub.key)).status, 403)
    t.equal((await env.get(`/api/client/servers/${server.uuid}/users`, sub.key)).status, 403)

    const admin = await env.connect(server.uuid, env.admin.clientKey)
    const detailed = await framesBefore(admin.client, 'set state', 'explode')
    t.match(detailed[0]?.args?.[0], /invalid power action "explode"/, 'details with admin.websocket.errors', { detailed })
    await admin.client.end()
  })

  await t.test('frame limit and throttles', async (t) => {
    const big = await env.connect(server.uuid, owner.key)
    big.client.raw(JSON.stringify({ event: 'send command', args: ['x'.repeat(5000)] }))
    t.equal((await big.client.closed).code, 1009)

    const stats = await env.connect(server.uuid, owner.key)
    for (let i = 0; i < 6; i++) stats.client.send('send stats')
    t.same((await stats.client.next('throttled')).args, ['send stats'])
    await stats.client.end()

    const auth = await env.connect(server.uuid, owner.key)
    auth.client.send('auth', auth.token)
    auth.client.send('auth', auth.token)
    t.same((await auth.client.next('throttled')).args, ['auth'], 'auth: 1 per 5 s, burst 2')
    await auth.client.end()

    const overall = await env.connect(server.uuid, owner.key)
    for (let i = 0; i < 12; i++) overall.client.send('send command', 'noop')
    t.same((await overall.client.next('throttled')).args, ['send command'], 'overall burst 10')
    await overall.client.end()
  })

  await t.test('connection cap and auth timeout', async (t) => {
    const a = await env.connect(server.uuid, owner.key)
    const b = await env.connect(server.uuid, owner.key)
    const { token, socket } = await env.credentials(server.uuid, owner.key)
    const c = await env.open(socket)
    c.send('auth', token)
    t.equal((await c.closed).code, 4009, 'the third authenticated socket is refused')
    const idle = await env.open(socket)
    t.equal((await idle.closed).code, 4001, 'an unauthenticated socket is closed after CONSOLE_AUTH_TIMEOUT')
    await Promise.all([a.client.end(), b.client.end()])
  })

  await t.test('revocation: subuser change, key revoked, suspension', async (t) => {
    const { client, token } = await env.connect(server.uuid, sub.key)
    const upd = await env.post(`/api/client/servers/${server.uuid}/users/${sub.uuid}`, owner.key, { permissions: ['control.console'] })
    t.equal(upd.status, 200)
    await client.next('token expiring') // a permission change keeps the socket and asks for a fresh token
    const again = await env.open(wsUrl(server.uuid))
    again.send('auth', token)
    t.match((await again.next('jwt error')).args![0], /jwt: created too far in past \(denylist\)/, 'the older token cannot re-auth')
    const renewed = await env.credentials(server.uuid, sub.key)
    again.send('auth', renewed.token)
    await again.next('auth success')
    const del = await env.app.inject({ method: 'DELETE', url: `/api/client/servers/${server.uuid}/users/${sub.uuid}`, headers: { authorization: `Bearer ${owner.key}` } })
    t.equal(del.statusCode, 204)
    t.equal((await again.closed).code, 4010, 'removal closes the socket')
    t.equal((await client.closed).code, 4010, 'removal closes the socket kept through the permission change')

    const key = await env.app.apiKeys.create({ id: owner.id, uuid: owner.uuid, email: owner.email }, KEY_TYPE_CLIENT, { description: 'revoke me' })
    const k = await env.connect(server.uuid, key.key)
    await env.app.apiKeys.revoke({ id: owner.id, uuid: owner.uuid, email: owner.email }, key.key.slice(0, 16))
    t.equal((await k.client.closed).code, 4010, 'key revocation closes sockets opened with it')

    const live = await env.connect(server.uuid, owner.key)
    const s = await env.app.inject({ method: 'POST', url: `/api/application/servers/${server.uuid}/suspend`, headers: { authorization: `Bearer ${env.adminKey}` } })
    t.equal(s.statusCode, 204)
    t.match(await live.client.closed, { code: 1001, reason: 'server suspended' }, 'suspension closes live sockets with 1001, as Wings')
    t.equal((await env.get(`/api/client/servers/${server.uuid}/websocket`, owner.key)).status, 409)
    const late = await env.open(wsUrl(server.uuid))
    t.match(await late.closed, { code: 1001, reason: 'server suspended' }, 'a suspended server closes new sockets with 1001')
  })

  async function keyRef(key: string): Promise<string> {
    const row = await env.app.prisma.apiKey.findUniqueOrThrow({ where: { identifier: key.slice(0, 16) } })
    return `k:${row.id}`
  }
})
