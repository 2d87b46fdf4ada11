/**
 * @fastify/rate-limit on every route: X-RateLimit-* headers, the request after the limit is 429
 * in the JSON envelope with Retry-After, buckets are per API key (two keys independent) or per
 * session, and per IP for unauthenticated callers and failed authentication attempts.
 */
import t from 'tap'
import { bearer, build } from '../helper.js'
import { createKey, expectError } from './support.js'

t.test('rate limits', async (t) => {
  const { app, adminKey } = await build(t, { env: { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW: '600' } })
  // Fixtures use the admin key, whose bucket is its own (per key, whatever the IP).
  const setupIp = '192.0.2.200'
  const mk = (email: string) => app.inject({
    method: 'POST', url: '/api/application/users', headers: bearer(adminKey), remoteAddress: setupIp,
    payload: { email, password: 'long enough password', with_client_key: true },
  })
  const keyA = (await mk('a@example.test')).json().meta.api_key as string
  const keyB = (await mk('b@example.test')).json().meta.api_key as string

  t.test('per key: headers, then 429 on the 6th request', async (t) => {
    for (let i = 1; i <= 5; i++) {
      const res = await app.inject({ url: '/api/client/account', headers: bearer(keyA) })
      t.equal(res.statusCode, 200, `request ${i}`)
      t.equal(res.headers['x-ratelimit-limit'], '5')
      t.equal(res.headers['x-ratelimit-remaining'], String(5 - i))
      t.ok(Number(res.headers['x-ratelimit-reset']) > 0, 'x-ratelimit-reset')
    }
    const sixth = await app.inject({ url: '/api/client/account', headers: bearer(keyA) })
    const err = expectError(t, sixth, 429, '6th request')
    t.equal(err.errors[0]!.code, 'TooManyRequestsHttpException')
    t.match(err.errors[0]!.detail, /Too many requests/)
    t.ok(Number(sixth.headers['retry-after']) > 0, 'Retry-After')
    t.equal(sixth.headers['x-ratelimit-remaining'], '0')

    const b = await app.inject({ url: '/api/client/account', headers: bearer(keyB) })
    t.equal(b.statusCode, 200, "another key's bucket is independent")
    t.equal(b.headers['x-ratelimit-remaining'], '4')
    const sameIpAnon = await app.inject({ url: '/api/client/account' })
    t.equal(sameIpAnon.statusCode, 401, 'the IP bucket is separate from the key bucket')
  })

  t.test('per IP before authentication and for failed authentication', async (t) => {
    const ip = '198.51.100.1'
    const bad = 'whc_' + 'Q'.repeat(44)
    for (let i = 1; i <= 5; i++) {
      const res = await app.inject({ url: '/api/client/account', headers: bearer(bad), remoteAddress: ip })
      t.equal(res.statusCode, 401, `failed attempt ${i}`)
      t.equal(res.headers['x-ratelimit-remaining'], String(5 - i))
    }
    expectError(t, await app.inject({ url: '/api/client/account', headers: bearer(bad), remoteAddress: ip }), 429, 'failed auth over the limit')
    expectError(t, await app.inject({ url: '/nope', remoteAddress: ip }), 429, 'unknown routes count against the IP too')
    expectError(t, await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@example.test', password: 'x' }, remoteAddress: ip }), 429, 'login from the exhausted IP')
    const other = await app.inject({ url: '/api/client/account', headers: bearer(bad), remoteAddress: '198.51.100.2' })
    t.equal(other.statusCode, 401, 'another IP has its own bucket')
    const { key: keyC } = await createKey(app, keyB, 'client')
    const valid = await app.inject({ url: '/api/client/account', headers: bearer(keyC), remoteAddress: ip })
    t.equal(valid.statusCode, 200, 'a valid key from the exhausted IP uses its own bucket')
  })

  t.test('per session', async (t) => {
    const ip = '198.51.100.9'
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@example.test', password: 'long enough password' }, remoteAddress: ip })
    t.equal(login.statusCode, 200)
    const cookies = { wirehub_session: login.cookies.find((c) => c.name === 'wirehub_session')!.value }
    for (let i = 1; i <= 5; i++) {
      const res = await app.inject({ url: '/api/client/account', cookies, remoteAddress: `198.51.100.${20 + i}` })
      t.equal(res.headers['x-ratelimit-remaining'], String(5 - i), 'one bucket across IPs')
    }
    expectError(t, await app.inject({ url: '/api/client/account', cookies, remoteAddress: '198.51.100.40' }), 429, 'session over the limit')
  })

  t.test('/health is exempt', async (t) => {
    for (let i = 0; i < 7; i++) t.equal((await app.inject({ url: '/health', remoteAddress: '198.51.100.1' })).statusCode, 200)
  })
})
