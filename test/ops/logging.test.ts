/**
 * Logs: pino JSON through the app's own logger options (redaction and serializers), captured
 * from a stream. The Authorization header, cookies, passwords, API keys and their secrets,
 * session and CSRF tokens, and query strings never reach a log line; every line about a
 * request carries its reqId.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/config.js'
import { loggerOptions } from '../../src/lib/logger.js'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, bearer, freshDatabase } from '../helper.js'

t.test('logs never carry credentials or query strings', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-logging-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    env: {
      DATABASE_URL: await freshDatabase(t), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'trace', LOG_PRETTY: 'false',
      ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_API_KEY, SOCKET_TOKEN_SECRET: 'log-test-secret-log-test-secret-0123456789',
    },
    dotenv: false,
  })
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      cb()
    },
  })
  const opts = loggerOptions(config) as Record<string, unknown>
  const app = await buildApp(config, { logger: { ...opts, stream } as never })
  t.teardown(() => app.close())
  await app.ready()

  const PASSWORD = 'user password never logged'
  const QUERY_SECRET = 'querysecretvalue123'
  const created = await app.inject({
    method: 'POST', url: '/api/application/users', headers: bearer(ADMIN_API_KEY),
    payload: { email: 'log@example.test', password: PASSWORD, with_client_key: true },
  })
  t.equal(created.statusCode, 201)
  const clientKey = created.json().meta.api_key as string
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'log@example.test', password: PASSWORD } })
  t.equal(login.statusCode, 200)
  const session = login.cookies.find((c) => c.name === 'wirehub_session')!.value
  const csrf = login.cookies.find((c) => c.name === 'wirehub_csrf')!.value
  const cookies = { wirehub_session: session, wirehub_csrf: csrf }

  await app.inject({ url: `/api/client/account?token=${QUERY_SECRET}&api_key=${clientKey}`, headers: bearer(clientKey) })
  await app.inject({ url: '/api/client/account', cookies })
  const k = await app.inject({ method: 'POST', url: '/api/client/account/api-keys', cookies, headers: { 'x-csrf-token': csrf }, payload: { description: 'x' } })
  const newKey = k.json().meta.api_key as string
  await app.inject({ url: '/api/client/account', headers: bearer(newKey.slice(0, 16) + 'W'.repeat(32)) }) // refused key
  await app.inject({ url: '/api/client/account', headers: { authorization: `Bearer ${clientKey}garbage` } }) // malformed
  await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'log@example.test', password: `${PASSWORD} wrong` } })
  await app.inject({ url: `/nope?password=${QUERY_SECRET}` })
  await app.inject({ url: `/docs/json?key=${QUERY_SECRET}` })
  await app.inject({ method: 'POST', url: '/api/application/users', headers: { ...bearer(ADMIN_API_KEY), 'content-type': 'application/json' }, payload: `{"password":"${PASSWORD}",` })
  // A 500 whose error comes from the database driver, logged with its details.
  await app.prisma.$executeRawUnsafe('alter table sessions rename to sessions_gone')
  await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'log@example.test', password: PASSWORD } })
  await app.prisma.$executeRawUnsafe('alter table sessions_gone rename to sessions')
  await app.inject({ method: 'POST', url: '/api/auth/logout', cookies, headers: { 'x-csrf-token': csrf } })

  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  t.ok(parsed.length > 20, `${parsed.length} log lines captured`)
  const text = lines.join('\n')
  const forbidden: Array<[string, string]> = [
    [ADMIN_API_KEY, 'bootstrap key'],
    [ADMIN_API_KEY.slice(16), 'bootstrap key secret'],
    [clientKey.slice(16), 'client key secret'],
    [newKey.slice(16), 'new key secret'],
    [session, 'session token'],
    [csrf, 'CSRF token'],
    [PASSWORD, 'password'],
    [ADMIN_PASSWORD, 'admin password'],
    [QUERY_SECRET, 'query string value'],
    ['scrypt$', 'password hash'],
    ['Bearer ', 'Authorization header'],
    ['wirehub_session=', 'cookie header'],
  ]
  for (const [needle, what] of forbidden) t.notOk(text.includes(needle), `no ${what} in the logs`)

  const requestLines = parsed.filter((l) => 'req' in l || 'res' in l || 'responseTime' in l)
  t.ok(requestLines.length >= 20, `${requestLines.length} request lines`)
  for (const l of requestLines) if (typeof l.reqId !== 'string') t.fail(`request line without reqId: ${JSON.stringify(l).slice(0, 200)}`)
  const urls = parsed.map((l) => (l.req as { url?: string } | undefined)?.url).filter(Boolean) as string[]
  t.ok(urls.includes('/api/client/account?[redacted]'), 'a URL with a query is logged without it')
  t.ok(parsed.some((l) => l.msg === 'API key refused' && typeof l.reqId === 'string'), 'the auth hook logs refusals with the reqId')
  const failed = parsed.find((l) => l.msg === 'request failed')
  t.ok(failed && typeof failed.reqId === 'string', 'the 500 is logged with its reqId')
})
