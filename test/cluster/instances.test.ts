/**
 * Several wirehub instances against one PostgreSQL and the real Redis act as one: telemetry
 * ingested on one instance reaches subscribers on another once; one breach raises one alert when
 * the same readings hit two instances at once; connection limits and key revocation are
 * cluster-wide; a power action received by an instance that does not run the server is routed
 * to the one that does, and the console credential names that instance's socket.
 */
import t from 'tap'
import { build, bearer, freshDatabase, type TestApp } from '../helper.js'
import { api, authed, createDevice, createUser, ingest, Client } from '../channels/support.js'
import { SHARED_REDIS_URL as REDIS_URL, uniquePrefix } from './support.js'

// Each cluster gets its own REDIS_PREFIX: test files run in parallel on the shared Redis, and
// slot keys (per user id) of clusters on different databases would otherwise collide.

async function cluster(t: { teardown(fn: () => unknown): void }, n: number): Promise<TestApp[]> {
  const DATABASE_URL = await freshDatabase(t)
  const REDIS_PREFIX = uniquePrefix('instances')
  const apps: TestApp[] = []
  for (let i = 0; i < n; i++) {
    apps.push(
      await build(t, {
        listen: true,
        env: {
          DATABASE_URL,
          REDIS_URL,
          REDIS_PREFIX,
          NODE_NAME: `node-${i}-${process.pid}`,
          ALLOWED_ORIGINS: '*',
          WS_CONNECTIONS_PER_MINUTE: '1000',
          RATE_LIMIT_MAX: '100000',
          DEMO_SERVER: 'false',
        },
      }),
    )
  }
  return apps
}

t.test('two instances act as one', async (t) => {
  const [a, b] = (await cluster(t, 2)) as [TestApp, TestApp]
  const user = await createUser(a)
  const device = await createDevice(a, user.key)

  await t.test('telemetry ingested on A reaches a subscriber on B, once', async (t) => {
    const sub = await authed(b, user.key)
    t.teardown(() => sub.close())
    const ack = await sub.request({ type: 'subscribe', channel: 'telemetry', device_id: device.id }, 'subscribed')
    t.equal(ack.type, 'subscribed')
    // Subscriptions reach Redis asynchronously: publish until the first update crosses.
    let first: Record<string, unknown> | undefined
    const got = sub.nextOf('telemetry_update').then((m) => (first = m))
    for (let i = 0; i < 100 && !first; i++) {
      await ingest(a, device.id, device.deviceKey, { telemetry: { temperature: { value: 20 + i } } })
      await Promise.race([got, new Promise((r) => setTimeout(r, 50))])
    }
    t.ok(first, 'an update crossed instances')
    const before = sub.messages.filter((m) => m.type === 'telemetry_update').length
    await ingest(a, device.id, device.deviceKey, { telemetry: { temperature: { value: 99 } } })
    const update = await sub.next((m) => m.type === 'telemetry_update' && m.telemetry.temperature.value === 99)
    t.equal(update.device_id, device.id)
    const extra = await sub.quiet()
    t.equal(sub.messages.filter((m) => m.type === 'telemetry_update').length, before + 1, 'delivered once')
    t.same(extra.filter((m) => m.type === 'telemetry_update'), [])
  })

  await t.test('one breach raises one alert when both instances see it', async (t) => {
    const rule = await api(a, user.key, 'POST', `/api/client/devices/${device.id}/alert-rules`, {
      metric: 'pressure',
      operator: '>',
      threshold: 100,
      severity: 'critical',
      cooldown: 3600,
    })
    t.equal(rule.status, 201, JSON.stringify(rule.body))
    await Promise.all([
      ingest(a, device.id, device.deviceKey, { telemetry: { pressure: { value: 150 } } }),
      ingest(b, device.id, device.deviceKey, { telemetry: { pressure: { value: 160 } } }),
      ingest(a, device.id, device.deviceKey, { telemetry: { pressure: { value: 170 } } }),
      ingest(b, device.id, device.deviceKey, { telemetry: { pressure: { value: 180 } } }),
    ])
    const alerts = await api(b, user.key, 'GET', `/api/client/alerts?device_id=${device.id}`)
    t.equal(alerts.status, 200)
    t.equal((alerts.body!.data as unknown[]).length, 1, 'exactly one alert stored cluster-wide')
  })

  await t.test('revoking a key on A closes its sockets on B', async (t) => {
    const other = await createUser(a)
    const sock = await authed(b, other.key)
    const identifier = other.key.slice(0, 16)
    const res = await a.app.inject({ method: 'DELETE', url: `/api/client/account/api-keys/${identifier}`, headers: bearer(other.key) })
    t.equal(res.statusCode, 204)
    const closed = await sock.closed
    t.equal(closed.code, 4010, 'closed with REVOKED on the other instance')
    const refused = await api(b, other.key, 'GET', '/api/client/account')
    t.equal(refused.status, 401, 'and the key is refused there at once')
  })
})

t.test('cluster-wide connection limit per user', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const env = { DATABASE_URL, REDIS_URL, REDIS_PREFIX: uniquePrefix('limit'), ALLOWED_ORIGINS: '*', WS_CONNECTIONS_PER_MINUTE: '1000', RATE_LIMIT_MAX: '100000', DEMO_SERVER: 'false', WS_MAX_CONNECTIONS_PER_USER: '1' }
  const a = await build(t, { listen: true, env: { ...env, NODE_NAME: `lim-a-${process.pid}` } })
  const b = await build(t, { listen: true, env: { ...env, NODE_NAME: `lim-b-${process.pid}` } })
  const user = await createUser(a)
  const first = await authed(a, user.key)
  t.teardown(() => first.close())
  const token = (await api(b, user.key, 'GET', '/api/client/websocket')).body!.data.token as string
  const second = await Client.open(b)
  const r = await second.request({ type: 'auth', token }, 'auth_response')
  t.equal(r.success, false, 'a second socket on another instance is refused')
  t.equal((await second.closed).code, 4009)
  first.close()
  await first.closed
  // The slot is released asynchronously; a new socket on B succeeds once it is.
  let ok = false
  for (let i = 0; i < 100 && !ok; i++) {
    const token2 = (await api(b, user.key, 'GET', '/api/client/websocket')).body!.data.token as string
    const c = await Client.open(b)
    const res = await c.request({ type: 'auth', token: token2 }, 'auth_response')
    ok = res.success === true
    c.close()
    if (!ok) await new Promise((res) => setTimeout(res, 50))
  }
  t.ok(ok, 'after the first closes, a socket on B is accepted')
})

t.test('power actions are routed to the node that runs the server', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const env = { DATABASE_URL, REDIS_URL, REDIS_PREFIX: uniquePrefix('power'), ALLOWED_ORIGINS: '*', RATE_LIMIT_MAX: '100000', DEMO_SERVER: 'false' }
  const a = await build(t, { listen: true, env: { ...env, NODE_NAME: `pw-a-${process.pid}` } })
  const b = await build(t, { listen: true, env: { ...env, NODE_NAME: `pw-b-${process.pid}` } })
  const user = await createUser(a, { admin: true })
  // Created through B: the server belongs to B's node.
  const created = await b.app.inject({
    method: 'POST',
    url: '/api/application/servers',
    headers: bearer(b.adminKey),
    payload: {
      name: 'routed',
      user: user.id,
      command: process.execPath,
      args: ['-e', "console.log('Done (0.001s)!'); process.stdin.on('data', d => { if (String(d).trim() === 'stop') process.exit(0); console.log('got ' + d) })"],
      done_pattern: 'Done',
    },
  })
  t.equal(created.statusCode, 201, created.body)
  const uuid = created.json().attributes.uuid as string
  const cred = await api(a, user.key, 'GET', `/api/client/servers/${uuid}/websocket`)
  t.equal(cred.status, 200)
  t.equal(new URL(String(cred.body!.data.socket).replace(/^ws/, 'http')).port, new URL(b.url).port, "the socket address is the owning instance's")
  let power = await api(a, user.key, 'POST', `/api/client/servers/${uuid}/power`, { signal: 'start' })
  for (let i = 0; i < 50 && power.status === 502; i++) {
    await new Promise((r) => setTimeout(r, 50)) // B's RPC subscription may still be starting
    power = await api(a, user.key, 'POST', `/api/client/servers/${uuid}/power`, { signal: 'start' })
  }
  t.equal(power.status, 204, 'accepted by A and run by B')
  let state = ''
  for (let i = 0; i < 200 && state !== 'running'; i++) {
    state = (await api(b, user.key, 'GET', `/api/client/servers/${uuid}/resources`)).body!.attributes.current_state as string
    if (state !== 'running') await new Promise((r) => setTimeout(r, 25))
  }
  t.equal(state, 'running', 'the server runs on B')
  const cmd = await api(a, user.key, 'POST', `/api/client/servers/${uuid}/command`, { command: 'hello' })
  t.equal(cmd.status, 204, 'a command through A reaches the process on B')
  const stop = await api(a, user.key, 'POST', `/api/client/servers/${uuid}/power`, { signal: 'stop' })
  t.equal(stop.status, 204)
})
