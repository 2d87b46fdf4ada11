/**
 * Start-up and shutdown of the user events module, on a bare Fastify with the module's real
 * dependencies (websocket plugin, hub) and stubbed auth, so no database is needed: an invalid
 * pattern stops start-up naming it, unanchored patterns are logged as warnings, a taken extra
 * port stops start-up, and closing the app closes the extra port's sockets with 1012.
 */
import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import { loadConfig } from '../../src/config/config.js'
import type { Config } from '../../src/config/config.schema.js'
import { DomainEvents } from '../../src/lib/domain-events.js'
import { Hub } from '../../src/modules/realtime/hub.js'
import { SessionIndex } from '../../src/modules/realtime/session-index.js'
import { createSockets } from '../../src/modules/realtime/sockets.js'
import userEventsModule from '../../src/modules/user-events/user-events.plugin.js'
import { openSeedClient, refusedStatus } from './seed-client.js'

function bareApp(overrides: Partial<Config>, lines: string[] = []) {
  const config = { ...loadConfig({ env: { PORT: '0', LOG_LEVEL: 'warn' }, dotenv: false }), ...overrides }
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  const app = Fastify({ logger: { level: 'warn', stream } })
  app.register(
    fp(async (a) => {
      a.decorate('config', config)
      a.decorate('events', new DomainEvents())
    }, { name: 'config' }),
  )
  app.register(
    fp(async (a) => {
      a.decorate('apiKeys', { authenticate: async () => ({ ok: false, reason: 'unknown' }) } as never)
    }, { name: 'auth' }),
  )
  app.register(
    fp(
      async (a) => {
        await a.register(websocket)
        const hub = new Hub({ log: a.log, limits: { softLimitBytes: 65536, hardLimitBytes: 1 << 20 }, pingIntervalMs: 60_000 })
        a.decorate('hub', hub)
        a.decorate('sockets', createSockets(a, { hub, index: new SessionIndex({ maxPending: 100, maxPendingPerIp: 10 }) }))
        a.addHook('preClose', () => hub.close())
      },
      { name: 'realtime' },
    ),
  )
  app.register(userEventsModule)
  return app
}

t.test('an invalid pattern stops start-up with a message naming it', async (t) => {
  const app = bareApp({ APPROVED_SOCKET_DOMAINS: ['^ok$', '(unclosed'] })
  await t.rejects(async () => {
    await app.ready()
  }, /APPROVED_SOCKET_DOMAINS: invalid regular expression "\(unclosed"/)
  await app.close().catch(() => {})
})

t.test('unanchored patterns are logged as warnings at start-up', async (t) => {
  const lines: string[] = []
  const app = bareApp({ APPROVED_SOCKET_DOMAINS: ['example.com', '^example\\.net$'] }, lines)
  t.teardown(() => app.close())
  await app.ready()
  const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string; module?: string }).filter((l) => l.level === 40)
  t.equal(warnings.length, 1, 'only the unanchored one')
  t.match(warnings[0], { module: 'user-events', msg: /"example\.com" is not anchored/ })
})

t.test('a taken extra port stops start-up', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => blocker.close(resolve)))
  const port = (blocker.address() as { port: number }).port
  const app = bareApp({ APPROVED_SOCKET_DOMAINS: ['^trusted-host$'], USER_EVENTS_PORT: port })
  await t.rejects(async () => {
    await app.ready()
  }, { code: 'EADDRINUSE' })
  await app.close().catch(() => {})
})

t.test('closing the app closes the extra port and its sockets (1012)', async (t) => {
  const app = bareApp({ APPROVED_SOCKET_DOMAINS: ['^trusted-host$'], USER_EVENTS_PORT: 0 })
  await app.ready()
  const port = app.userEvents.port!
  const c = await openSeedClient(t, `ws://127.0.0.1:${port}`, 'trusted-host')
  await app.close()
  t.equal((await c.closed).code, 1012)
  t.equal(app.userEvents.port, null)
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), 'the port no longer accepts connections')
})

t.test('refusals are logged with the origin, on both listeners', async (t) => {
  const lines: string[] = []
  const app = bareApp({ APPROVED_SOCKET_DOMAINS: ['^trusted-host$'], USER_EVENTS_PORT: 0 }, lines)
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const mainPort = (app.server.address() as { port: number }).port
  t.equal(await refusedStatus(`ws://127.0.0.1:${mainPort}/ws/users`, 'http://evil.net'), 403)
  t.equal(await refusedStatus(`ws://127.0.0.1:${app.userEvents.port}`, 'http://evil.net'), 403)
  t.equal(await refusedStatus(`ws://127.0.0.1:${app.userEvents.port}`), 403)
  const refusals = lines.map((l) => JSON.parse(l) as { msg: string; origin?: string | null; reason?: string }).filter((l) => l.msg === 'user events socket refused')
  t.match(refusals, [
    { origin: 'http://evil.net', reason: 'origin_refused' },
    { origin: 'http://evil.net', reason: 'origin_refused' },
    { origin: null, reason: 'origin_missing' },
  ])
})

t.test('origin-only access on a non-loopback address is warned about at start-up', async (t) => {
  const warn = async (overrides: Partial<Config>) => {
    const lines: string[] = []
    const app = bareApp({ APPROVED_SOCKET_DOMAINS: ['^trusted-host$'], ...overrides }, lines)
    await app.ready()
    await app.close()
    return lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40 && /guarded by Origin alone/.test(l.msg)).length
  }
  t.equal(await warn({ HOST: '0.0.0.0' }), 1, 'warned: any non-browser client can send the Origin')
  t.equal(await warn({ HOST: '127.0.0.1' }), 0, 'loopback only: no warning')
  t.equal(await warn({ HOST: '0.0.0.0', USER_EVENTS_REQUIRE_KEY: true }), 0, 'with the application key: no warning')
  t.equal(await warn({ HOST: '0.0.0.0', USER_EVENTS_ALLOWED_IPS: '10.0.0.0/8' }), 0, 'with an address allow-list: no warning')
})
