/**
 * PostgreSQL goes away: every database-backed route — ingestion, login, the Client and
 * Application APIs, with a cached or an uncached key — answers 503 with Retry-After and
 * `meta.reason: "database_unavailable"`, never 500; /ready says unavailable; once the database
 * is back everything answers as before. The outage is real: the app reaches the real PostgreSQL
 * through a TCP relay that the test cuts (every connection reset, new ones refused) and restores
 * on the same port.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build, freshDatabase } from '../helper.js'
import { freePort } from '../wait.js'
import { createDevice, createUser } from '../channels/support.js'
import { classifyOutage } from '../../src/lib/dependency-errors.js'

/** A TCP relay to PostgreSQL that can be cut and restored. */
class DatabaseSwitch {
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async on(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => this.sockets.delete(s))
      }
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    this.server = server
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
  }

  async off(): Promise<void> {
    const server = this.server
    this.server = null
    for (const s of this.sockets) s.resetAndDestroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

t.test('classifyOutage', async (t) => {
  t.equal(classifyOutage(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'database_unavailable')
  t.equal(classifyOutage({ code: 'P1001', meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } } }), 'database_unavailable')
  t.equal(classifyOutage(new Error('Connection terminated unexpectedly')), 'database_unavailable')
  t.equal(classifyOutage({ code: '57P01' }), 'database_unavailable', 'admin shutdown')
  t.equal(classifyOutage({ code: '53100' }), 'storage_full', 'disk_full')
  t.equal(classifyOutage(Object.assign(new Error('write failed'), { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) })), 'storage_full', 'through a cause')
  t.equal(classifyOutage(new Error('a bug')), null)
  t.equal(classifyOutage({ code: '23505' }), null, 'a unique violation is not an outage')
})

t.test('with PostgreSQL down every database-backed route answers 503 + Retry-After', async (t) => {
  const direct = new URL(await freshDatabase(t))
  const relay = new DatabaseSwitch(await freePort(), { host: direct.hostname, port: Number(direct.port || 5432) })
  await relay.on()
  t.teardown(() => relay.off())
  const viaRelay = new URL(direct)
  viaRelay.port = String(relay.port)
  const ta = await build(t, { listen: true, env: { DATABASE_URL: viaRelay.toString(), RATE_LIMIT_MAX: '100000', DEMO_SERVER: 'false' } })
  const user = await createUser(ta)
  const device = await createDevice(ta, user.key)
  const uncached = await createUser(ta)
  ta.app.apiKeys.invalidate({ identifier: uncached.key.slice(0, 16) })

  const call = async (method: string, path: string, key: string | null, body?: unknown) => {
    const res = await fetch(`${ta.url}${path}`, {
      method,
      headers: { ...(key ? bearer(key) : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : null, text }
  }
  const routes: Array<[string, string, string, string | null, unknown?]> = [
    ['ingestion', 'POST', `/api/devices/${device.id}/telemetry`, device.deviceKey, { telemetry: { temperature: { value: 21 } } }],
    ['login', 'POST', '/api/auth/login', null, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }],
    ['device list (cached key)', 'GET', '/api/client/devices', user.key],
    ['device update', 'PATCH', `/api/client/devices/${device.id}`, user.key, { name: 'renamed' }],
    ['device status change', 'PATCH', `/api/client/devices/${device.id}`, user.key, { status: 'maintenance' }],
    ['telemetry history', 'GET', `/api/client/devices/${device.id}/telemetry`, user.key],
    ['alerts', 'GET', '/api/client/alerts', user.key],
    ['API keys', 'GET', '/api/client/account/api-keys', user.key],
    ['uncached key', 'GET', '/api/client/devices', uncached.key],
    ['Application API users', 'GET', '/api/application/users', ta.adminKey],
  ]
  for (const [what, method, path, key, body] of routes) {
    const res = await call(method, path, key, body)
    t.ok(res.status < 500, `${what}: answers ${res.status} while the database is up`)
  }

  await relay.off()
  for (const [what, method, path, key, body] of routes) {
    const res = await call(method, path, key, body)
    t.equal(res.status, 503, `${what}: 503`)
    t.equal(res.retryAfter, '5', `${what}: Retry-After`)
    t.match(res.body, { errors: [{ code: 'ServiceUnavailableHttpException', status: '503', meta: { reason: 'database_unavailable' } }] }, `${what}: names the outage`)
    t.notMatch(res.text, /ECONN|127\.0\.0\.1|P1001|stack/i, `${what}: nothing internal`)
  }
  const ready = await call('GET', '/ready', null)
  t.match(ready, { status: 503, body: { checks: { database: 'unavailable' } } }, '/ready: unavailable')

  await relay.on()
  for (const [what, method, path, key, body] of routes) {
    const res = await call(method, path, key, body)
    t.ok(res.status < 500, `${what}: answers ${res.status} once the database is back`)
  }
})
