/**
 * The SDK's console against a real wirehub and the real demo game server: credentials from
 * `GET /api/client/servers/:server/websocket`, auth, status, start, console output through
 * "Done", a command and its answer, parsed stats, token refresh on the same socket (TTL 24 s:
 * the server warns at min(60 s, TTL/2), so `token expiring` comes ~12 s after auth; the SDK only
 * refreshes when told, so a short TTL is as good a test as a long one) with no duplicate refresh,
 * then terminal close codes (revoked key, suspended server): no reconnect.
 */
import t from 'tap'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'
import { CLOSE } from '../../packages/client/src/index.js'
import { bearer, build } from '../helper.js'
import { countingFetch, next, sdkClient, userWithKey } from './support.js'

async function createServer(app: Awaited<ReturnType<typeof build>>['app'], adminKey: string, userId: number) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/application/servers',
    headers: bearer(adminKey),
    payload: {
      name: 'sdk console',
      user: userId,
      command: process.execPath,
      args: [DEMO_SERVER_SCRIPT],
      done_pattern: '\\]: Done \\(',
      stop: { type: 'command', value: 'stop' },
    },
  })
  if (res.statusCode !== 201) throw new Error(`create server: ${res.statusCode} ${res.body}`)
  return res.json<{ attributes: { id: number; uuid: string; identifier: string } }>().attributes
}

t.test('console: stream, command, stats, token refresh without a gap', async (t) => {
  const { app, url, adminKey } = await build(t, { listen: true, env: { ALLOWED_ORIGINS: '*', SOCKET_TOKEN_TTL: '24' } })
  const user = await userWithKey(app, adminKey, 'console@example.test')
  const server = await createServer(app, adminKey, user.id)
  const f = countingFetch()
  const client = sdkClient(t, url, user.key, { fetch: f.fetch })
  const credPath = `/api/client/servers/${server.identifier}/websocket`

  const con = client.console(server.identifier)
  const refreshed = next(con, 'refresh')
  const firstStatus = next(con, 'status')
  await con.ready()
  t.equal(await firstStatus, 'offline', 'status after auth')

  const done = next(con, 'console', (l) => l.includes('Done ('))
  const running = next(con, 'status', (s) => s === 'running')
  t.ok(con.setState('start'))
  await done
  await running
  const stats = await next(con, 'stats', (s) => s.state === 'running')
  t.type(stats.memory_bytes, 'number', 'stats args[0] parsed from its JSON string')
  t.type(stats.network.rx_bytes, 'number')

  // Token refresh: `token expiring` arrives ~12 s after auth (TTL/2); one refresh, same socket.
  await refreshed
  t.equal(con.stats.tokenRefreshes, 1)
  t.equal(f.count(credPath), 2, 'one credential fetch to connect, one to refresh')
  t.equal(con.stats.connections, 1, 'no reconnect for a refresh')

  // The socket still streams and accepts commands after the refresh.
  const said = next(con, 'console', (l) => l.includes('[Server] after refresh'))
  t.ok(con.sendCommand('say after refresh'))
  await said

  const history: string[] = []
  const off = con.onConsole((l) => history.push(l))
  const replayed = next(con, 'console', (l) => l.includes('Done ('))
  t.ok(con.requestLogs())
  await replayed
  off()
  t.ok(history.length > 0, 'send logs replays history')

  const offline = next(con, 'status', (s) => s === 'offline')
  t.ok(con.setState('stop'))
  await offline
  t.equal(con.stats.connections, 1, 'one socket for the whole session')
})

t.test('console: terminal close codes do not reconnect', async (t) => {
  const { app, url, adminKey } = await build(t, { listen: true, env: { ALLOWED_ORIGINS: '*' } })
  const user = await userWithKey(app, adminKey, 'terminal@example.test')
  const server = await createServer(app, adminKey, user.id)
  const credPath = `/api/client/servers/${server.identifier}/websocket`

  t.test('suspended server → 1001', async (t) => {
    const f = countingFetch()
    const con = sdkClient(t, url, user.key, { fetch: f.fetch }).console(server.identifier)
    await con.ready()
    const closed = next(con, 'close')
    const res = await app.inject({ method: 'PATCH', url: `/api/application/servers/${server.id}`, headers: bearer(adminKey), payload: { suspended: true } })
    t.equal(res.statusCode, 200)
    const ev = await closed
    t.equal(ev.code, CLOSE.GOING_AWAY.code)
    t.equal(ev.reason, 'server suspended')
    t.equal(ev.willReconnect, false)
    t.equal(con.state, 'closed')
    t.equal(f.count(credPath), 1, 'no credential fetch for a reconnect')
    await app.inject({ method: 'PATCH', url: `/api/application/servers/${server.id}`, headers: bearer(adminKey), payload: { suspended: false } })
  })

  t.test('revoked API key → 4010', async (t) => {
    const keyRes = await app.inject({ method: 'POST', url: '/api/client/account/api-keys', headers: bearer(user.key), payload: { description: 'sdk' } })
    const key = keyRes.json<{ attributes: { identifier: string }; meta: { api_key: string } }>()
    const f = countingFetch()
    const con = sdkClient(t, url, key.meta.api_key, { fetch: f.fetch }).console(server.identifier)
    await con.ready()
    const closed = next(con, 'close')
    const del = await app.inject({ method: 'DELETE', url: `/api/client/account/api-keys/${key.attributes.identifier}`, headers: bearer(user.key) })
    t.equal(del.statusCode, 204)
    const ev = await closed
    t.equal(ev.code, CLOSE.REVOKED.code)
    t.equal(ev.willReconnect, false)
    t.equal(con.state, 'closed')
    t.equal(f.count(credPath), 1, 'no credential fetch for a reconnect')
  })
})
