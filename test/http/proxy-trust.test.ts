/**
 * TRUST_PROXY names the proxies whose X-Forwarded-For entries are believed. The test's "proxy"
 * is a real client on 127.0.0.2 (all of 127/8 is loopback) writing the header as nginx does
 * (`$proxy_add_x_forwarded_for`: whatever the client sent, then the client's address); direct
 * clients connect from 127.0.0.1. A spoofed leftmost entry does not pass a key's IP allow-list,
 * a direct client's header is ignored, and per-IP limits see each real client behind the proxy.
 */
import { request } from 'node:http'
import t from 'tap'
import { build } from '../helper.js'
import { createUser } from '../channels/support.js'
import { loadConfig } from '../../src/config/config.js'

const PROXY = '127.0.0.2'

function get(url: string, path: string, from: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { localAddress: from, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('config: TRUST_PROXY takes false, true, a hop count or addresses/CIDRs', async (t) => {
  const cfg = (v: string) => loadConfig({ env: { TRUST_PROXY: v }, dotenv: false }).trustProxy
  t.equal(cfg('false'), false)
  t.equal(cfg('true'), true)
  t.same(cfg('10.0.0.2, 172.30.0.0/24,::1'), ['10.0.0.2', '172.30.0.0/24', '::1'])
  const hops = cfg('2') as (a: string, i: number) => boolean
  t.same([hops('x', 0), hops('x', 1), hops('x', 2)], [true, true, false], 'a hop count trusts that many hops')
  t.throws(() => cfg('10.0.0.300'), /TRUST_PROXY/)
  t.throws(() => cfg('nginx'), /TRUST_PROXY/)
})

t.test('a trusted proxy address: spoofed X-Forwarded-For neither passes an allow-list nor pools per-IP limits', async (t) => {
  const ta = await build(t, { listen: true, env: { TRUST_PROXY: `${PROXY}/32`, RATE_LIMIT_MAX: '3' } })
  const user = await createUser(ta)
  const bound = await ta.app.inject({
    method: 'POST',
    url: '/api/client/account/api-keys',
    headers: { authorization: `Bearer ${user.key}` },
    payload: { description: 'bound', allowed_ips: ['10.9.9.9'] },
  })
  const key = bound.json().meta.api_key as string
  const auth = { authorization: `Bearer ${key}` }

  t.equal(await get(ta.url, '/api/client/account', PROXY, { ...auth, 'x-forwarded-for': '10.9.9.9' }), 200, 'the real client 10.9.9.9 behind the proxy is allowed')
  t.equal(
    await get(ta.url, '/api/client/account', PROXY, { ...auth, 'x-forwarded-for': '10.9.9.9, 10.1.1.1' }),
    401,
    'a client 10.1.1.1 that sent "X-Forwarded-For: 10.9.9.9" itself is refused',
  )
  t.equal(await get(ta.url, '/api/client/account', '127.0.0.1', { ...auth, 'x-forwarded-for': '10.9.9.9' }), 401, 'a direct client cannot claim an address')

  // Unauthenticated requests are limited per client IP (RATE_LIMIT_MAX=3).
  const from = (ip: string) => get(ta.url, '/api/client/account', PROXY, { 'x-forwarded-for': ip })
  const first = [await from('10.2.2.2'), await from('10.2.2.2'), await from('10.2.2.2'), await from('10.2.2.2')]
  t.same(first, [401, 401, 401, 429], 'one client behind the proxy reaches its own limit')
  t.equal(await from('10.3.3.3'), 401, 'another client behind the same proxy is not limited by it')
  t.equal(await from('spoofed, 10.3.3.3'), 401, 'nor by what it claims leftmost')
})

t.test('a hop count trusts the proxy in front', async (t) => {
  const ta = await build(t, { listen: true, env: { TRUST_PROXY: '1', RATE_LIMIT_MAX: '1' } })
  const from = (ip: string) => get(ta.url, '/api/client/account', PROXY, { 'x-forwarded-for': `1.1.1.1, ${ip}` })
  t.same([await from('10.4.4.4'), await from('10.4.4.4'), await from('10.5.5.5')], [401, 429, 401], 'the rightmost entry is the client')
})
