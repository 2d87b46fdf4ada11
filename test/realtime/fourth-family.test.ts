/**
 * A fourth socket family is one adapter file plus one route line: the adapter below is the one
 * docs/architecture.md shows, registered with the one route line on the real app, and it gets
 * what every family gets from the core without writing it (Origin and the pending budget before
 * the upgrade, the auth deadline, the size and flood limits, the index and revocation).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/config.js'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'
import type { Family, Session } from '../../src/modules/realtime/session.js'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, freshDatabase } from '../helper.js'

// ---- the adapter file, as in docs/architecture.md
export const family: Family = { kind: 'echo', limits: { maxMessageBytes: 1024, messagesPerSecond: 10, burst: 10, authTimeoutSec: 10, maxAuthFailures: 3 } }
export function serveEcho(app: FastifyInstance, session: Session<null>) {
  session.use({
    message(value) {
      const m = value as { type?: string; token?: string }
      if (m.type === 'auth') {
        const v = app.socketTokens.verify(m.token ?? '', 'channels')
        if (!v.ok) return void (session.send('{"type":"auth_failed"}'), session.authFailed(v.reason))
        session.authenticated({ userId: v.claims.user_id, cred: v.claims.cred, iat: v.claims.iat, exp: v.claims.exp })
        session.send('{"type":"ready"}')
      } else if (session.state === 'authenticated') session.send(JSON.stringify(m))
    },
    expiring: () => void session.send('{"type":"token_expiring"}'),
  })
}
// ----

t.test('a fourth family: one adapter and one route line', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-test-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    env: {
      PORT: '0', DATA_DIR: dataDir, DATABASE_URL: await freshDatabase(t), MQTT_ENABLED: 'false', ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_API_KEY,
      SOCKET_TOKEN_SECRET: 'test-secret-test-secret-test-secret-0123456789', WS_MAX_PENDING_PER_IP: '2', LOG_LEVEL: 'silent', ALLOWED_ORIGINS: 'http://app.example',
    },
    dotenv: false,
  })
  const app = await buildApp(config, { logger: false })
  t.teardown(() => app.close())
  // ---- the route line
  app.sockets.route('/ws/echo', family, () => null, (session) => serveEcho(app, session))
  // ----
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws/echo`
  const ORIGIN = { headers: { origin: 'http://app.example' } }
  const status = (opts: WebSocket.ClientOptions) => new Promise<number>((r) => new WebSocket(url, opts).once('unexpected-response', (_req, res) => r(res.statusCode ?? 0)))
  t.equal(await status({ headers: { origin: 'http://elsewhere.example' } }), 403, 'the Origin policy, before the upgrade')
  const open = async () => {
    const ws = new WebSocket(url, ORIGIN)
    const messages: Array<{ type?: string; n?: number }> = []
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)))
    return { ws, messages, closed }
  }
  const token = app.socketTokens.sign({ userUuid: 'u-1', userId: 1, permissions: [], scope: 'channels', cred: 'k:99' })

  const a = await open()
  a.ws.send(JSON.stringify({ type: 'auth', token }))
  a.ws.send(JSON.stringify({ n: 1 }))
  await new Promise<void>((r) => a.ws.on('message', () => a.messages.length === 2 && r()))
  t.same(a.messages, [{ type: 'ready' }, { n: 1 }], 'authenticated, then its own messages, in order')
  t.equal(app.sockets.index.userCount(1, 'echo'), 1, 'indexed by user')

  const guesser = await open()
  for (let i = 0; i < 3; i++) guesser.ws.send(JSON.stringify({ type: 'auth', token: 'nope' }))
  t.equal(await guesser.closed, CLOSE.AUTH_FAILED.code, 'failed auths: 4003 from the core')

  const big = await open()
  big.ws.send('x'.repeat(2000))
  t.equal(await big.closed, 1009, 'size limit from the core')

  const p1 = await open()
  const p2 = await open()
  t.equal(await status(ORIGIN), 429, 'the unauthenticated budget per address, before the upgrade')
  p1.ws.close()
  p2.ws.close()

  app.events.emit('apikey.revoked', { user: { id: 1, uuid: 'u-1', email: 'u1@example.test' }, identifier: 'whc_x', keyId: 99, keyType: 1, at: new Date() })
  t.equal(await a.closed, CLOSE.REVOKED.code, 'revocation through the one path: 4010')
})
