/**
 * Concurrent guesses cannot get past the login lockout: however many attempts run at once, at
 * most LOGIN_MAX_FAILURES passwords are checked per account and LOGIN_IP_MAX_FAILURES per IP in
 * a window (every attempt beyond is 429 without a password check), across instances (sharing
 * Redis, or only the database) and across a restart. Real HTTP on real ports; a "check" is an
 * answer other than 429 (401 for a wrong password, 200 for the right one).
 */
import t from 'tap'
import { ADMIN_EMAIL, ADMIN_PASSWORD, build, freshDatabase, type TestApp } from '../helper.js'
import { TestRedis, uniquePrefix } from '../cluster/support.js'

const LIMITS = { LOGIN_MAX_FAILURES: '5', LOGIN_IP_MAX_FAILURES: '20', LOGIN_LOCKOUT: '600', RATE_LIMIT_MAX: '100000' }

async function login(ta: TestApp, email: string, password: string): Promise<number> {
  const res = await fetch(`${ta.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  await res.arrayBuffer()
  return res.status
}

/** `n` logins at once spread over `instances`; the right password is the last one sent. */
async function burst(instances: TestApp[], n: number, email: (i: number) => string, right: number): Promise<{ checked: number; locked: number; other: number[] }> {
  const statuses = await Promise.all(
    Array.from({ length: n }, (_, i) => login(instances[i % instances.length]!, email(i), i === right ? ADMIN_PASSWORD : `wrong guess ${i}`)),
  )
  const checked = statuses.filter((s) => s === 401 || s === 200).length
  const locked = statuses.filter((s) => s === 429).length
  return { checked, locked, other: statuses.filter((s) => s !== 401 && s !== 200 && s !== 429) }
}

t.test('one instance: 300 concurrent guesses for one account check at most 5 passwords', async (t) => {
  const ta = await build(t, { listen: true, env: LIMITS })
  const r = await burst([ta], 300, () => ADMIN_EMAIL, 299)
  t.comment(`300 concurrent: ${r.checked} checked, ${r.locked} refused with 429`)
  t.same(r.other, [], 'every answer is 401, 200 or 429')
  t.ok(r.checked <= 5, `at most LOGIN_MAX_FAILURES passwords checked (${r.checked})`)
  t.equal(r.checked + r.locked, 300)
  t.equal(await login(ta, ADMIN_EMAIL, ADMIN_PASSWORD), 429, 'the account stays locked, right password or not')

  const perIp = await burst([ta], 100, (i) => `nobody${i}@example.test`, -1)
  t.comment(`100 concurrent for 100 accounts from one IP: ${perIp.checked} checked`)
  t.ok(perIp.checked <= 20 - r.checked, `at most LOGIN_IP_MAX_FAILURES checks from the IP in the window (${perIp.checked} after ${r.checked})`)
})

t.test('the lockout survives a restart (counters in the database)', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const first = await build(t, { listen: true, env: { ...LIMITS, DATABASE_URL } })
  for (let i = 0; i < 5; i++) t.equal(await login(first, ADMIN_EMAIL, 'wrong'), 401)
  await first.app.close()
  const second = await build(t, { listen: true, env: { ...LIMITS, DATABASE_URL } })
  t.equal(await login(second, ADMIN_EMAIL, ADMIN_PASSWORD), 429, 'still locked after the restart')
})

t.test('two instances sharing only the database: 5 checks in total', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const a = await build(t, { listen: true, env: { ...LIMITS, DATABASE_URL } })
  const b = await build(t, { listen: true, env: { ...LIMITS, DATABASE_URL } })
  const r = await burst([a, b], 200, () => ADMIN_EMAIL, 199)
  t.comment(`200 concurrent over 2 instances (database store): ${r.checked} checked`)
  t.same(r.other, [])
  t.ok(r.checked <= 5, `at most 5 passwords checked cluster-wide (${r.checked})`)
})

t.test('two instances with REDIS_URL: 5 checks in total, and the database takes over while Redis is down', async (t) => {
  const redis = await TestRedis.start(t)
  const DATABASE_URL = await freshDatabase(t)
  const env = { ...LIMITS, DATABASE_URL, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('login') }
  const a = await build(t, { listen: true, env: { ...env, NODE_NAME: 'login-a' } })
  const b = await build(t, { listen: true, env: { ...env, NODE_NAME: 'login-b' } })
  const r = await burst([a, b], 200, () => ADMIN_EMAIL, 199)
  t.comment(`200 concurrent over 2 instances (Redis store): ${r.checked} checked`)
  t.same(r.other, [])
  t.ok(r.checked <= 5, `at most 5 passwords checked cluster-wide (${r.checked})`)
  t.ok((await redis.client().keys(`${env.REDIS_PREFIX}login:account*`)).length > 0, 'the counters are in Redis')

  await redis.stop()
  const victim = 'victim@example.test'
  const down = await burst([a, b], 100, () => victim, -1)
  t.comment(`100 concurrent over 2 instances with Redis down: ${down.checked} checked`)
  t.same(down.other, [], 'no 5xx while Redis is down')
  t.ok(down.checked <= 5 && down.checked > 0, `the database store keeps the bound (${down.checked})`)
})
