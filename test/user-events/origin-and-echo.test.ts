/**
 * The seed's example client against wirehub, on both listeners (the extra port from
 * USER_EVENTS_PORT=0 and `/ws/users` on the main port): allowed origins in every form the seed
 * uses connect and echo; refused origins (unanchored-pattern abuse, missing, case tricks, wrong
 * port) get HTTP 403 before the upgrade; malformed messages get an ERROR event and the socket
 * stays up; oversized messages close with 1009; floods are rate limited.
 */
import t from 'tap'
import { build } from '../helper.js'
import { mainSocketUrl, openSeedClient, refusedStatus } from './seed-client.js'

// The seed's list, verbatim, plus the origin its example client sends.
const SEED_DOMAINS = ['localhost', '^ws://www.webinate.net:123$', '^webinate\\.net:80$', '^example\\.com$', '^.+\\.example\\.com$', '^example\\.org', '^.+\\.example\\.org']
const DOMAINS = [...SEED_DOMAINS, '^trusted-host$']

t.test('user events socket', async (t) => {
  const { app, url } = await build(t, {
    listen: true,
    env: { APPROVED_SOCKET_DOMAINS: JSON.stringify(DOMAINS), USER_EVENTS_PORT: '0' },
  })
  const extraPort = app.userEvents.port
  t.type(extraPort, 'number', 'the extra port is bound')
  t.not(extraPort, Number(new URL(url).port), 'on its own port')
  const listeners = {
    'extra port (ws://host:<port>)': `ws://127.0.0.1:${extraPort}`,
    'main port /ws/users': mainSocketUrl(url),
  }

  t.test('unanchored seed patterns are warned about at start-up', async (t) => {
    const warned = app.userEvents.domains.warnings.join('\n')
    for (const p of ['localhost', '^example\\.org', '^.+\\.example\\.org']) t.match(warned, JSON.stringify(p), `${p} warned`)
    t.notMatch(warned, JSON.stringify('^example\\.com$'), 'anchored patterns are not')
  })

  for (const [name, socketUrl] of Object.entries(listeners)) {
    t.test(`${name}: the seed client connects and echoes`, async (t) => {
      const c = await openSeedClient(t, socketUrl, 'trusted-host')
      c.wsClient.send(JSON.stringify({ eventType: 10, message: 'Hello world?' }))
      const echo = await c.take((e) => e.eventType === 10)
      t.same(echo, { eventType: 10, message: 'Hello world?' })
    })

    t.test(`${name}: allowed origin forms`, async (t) => {
      const allowed = [
        'http://example.com', // host
        'http://EXAMPLE.COM', // host, upper case: hosts are case-insensitive
        'https://Api.Example.com', // ^.+\.example\.com$
        'http://webinate.net', // host:port with http's default port 80
        'ws://webinate.net:80', // host:port, explicit
        'ws://www.webinate.net:123', // the full origin
        'http://localhost:3000', // the seed's unanchored "localhost"
        'trusted-host', // the seed client's bare origin
      ]
      for (const origin of allowed) {
        const c = await openSeedClient(t, socketUrl, origin)
        c.wsClient.send(JSON.stringify({ eventType: 10, message: origin }))
        t.same(await c.take((e) => e.eventType === 10), { eventType: 10, message: origin }, `${origin} connects and echoes`)
        c.wsClient.close()
      }
    })

    t.test(`${name}: refused origins get 403 before the upgrade`, async (t) => {
      const refused: [string | undefined, string][] = [
        [undefined, 'missing Origin'],
        ['http://example.com.evil.net', 'anchored ^example\\.com$ is not fooled by a suffix'],
        ['HTTP://EXAMPLE.COM.EVIL.NET', 'nor by the same in upper case'],
        ['http://evilexample.com', '^.+\\.example\\.com$ needs the dot'],
        ['http://example.com@evil.net', 'user info: the host is evil.net'],
        ['http://evil.net/.example.com', 'paths are not part of an origin'],
        ['https://webinate.net', 'default port 443 is not :80'],
        ['http://webinate.net:8080', 'explicit other port'],
        ['ws://www.webinate.net:1234', 'full origin with another port'],
        ['http://trusted-host.evil.net', 'anchored ^trusted-host$'],
        ['null', 'opaque origin'],
        ['', 'empty Origin'],
      ]
      for (const [origin, why] of refused) t.equal(await refusedStatus(socketUrl, origin), 403, `${String(origin)}: ${why}`)
    })

    t.test(`${name}: malformed and unsupported messages get an error event; the socket stays up`, async (t) => {
      const c = await openSeedClient(t, socketUrl, 'trusted-host')
      const cases: [string | Buffer, string][] = [
        ['not json', 'invalid_json'],
        ['[10]', 'not_an_event'],
        ['{"eventType":"10","message":"x"}', 'not_an_event'],
        ['{"eventType":1,"user":{}}', 'unsupported_event_type'],
        ['{"eventType":99}', 'unsupported_event_type'],
        ['{"eventType":10}', 'invalid_echo'],
        ['{"eventType":10,"message":{"a":1}}', 'invalid_echo'],
        ['{"eventType":10,"message":"x","__proto__":{"polluted":1}}', 'forbidden_key'],
        [Buffer.from([1, 2, 3]), 'binary_not_supported'],
      ]
      for (const [data, error] of cases) {
        c.wsClient.send(data, { binary: Buffer.isBuffer(data) })
        const e = await c.take((e) => e.eventType === 99)
        t.equal(e.error, error, `${String(data)} → ${error}`)
        t.type(e.message, 'string')
      }
      c.wsClient.send(JSON.stringify({ eventType: 10, message: 'still here' }))
      t.same(await c.take((e) => e.eventType === 10), { eventType: 10, message: 'still here' })
    })

    t.test(`${name}: a message over 4 KiB closes with 1009`, async (t) => {
      const c = await openSeedClient(t, socketUrl, 'trusted-host')
      c.wsClient.send(JSON.stringify({ eventType: 10, message: 'x'.repeat(5000) }))
      t.equal((await c.closed).code, 1009)
    })
  }

  t.test('a flood is rate limited, then closed with 4029', async (t) => {
    const c = await openSeedClient(t, listeners['main port /ws/users'], 'trusted-host')
    for (let i = 0; i < 300; i++) c.wsClient.send(JSON.stringify({ eventType: 10, message: String(i) }))
    const err = await c.take((e) => e.eventType === 99)
    t.equal(err.error, 'rate_limited')
    const { code } = await c.closed
    t.equal(code, 4029)
    const echoes = c.events.filter((e) => e.eventType === 10).length
    t.ok(echoes >= 40 && echoes < 300, `the burst (${echoes}) was answered, the excess dropped`)
    t.equal(c.events.filter((e) => e.eventType === 99).length, 1, 'one notice, not one per dropped message')
  })

  t.test('plain HTTP on the extra port gets 426; unknown paths 404', async (t) => {
    const res = await fetch(`http://127.0.0.1:${extraPort}/`)
    t.equal(res.status, 426)
    t.equal(await refusedStatus(`ws://127.0.0.1:${extraPort}/elsewhere`, 'trusted-host'), 404)
    const c = await openSeedClient(t, `ws://127.0.0.1:${extraPort}/ws/users`, 'trusted-host')
    c.wsClient.close()
  })
})

t.test('an empty list refuses everyone; no extra port by default', async (t) => {
  const { app, url } = await build(t, { listen: true })
  t.equal(app.userEvents.port, null)
  t.equal(await refusedStatus(mainSocketUrl(url), 'http://localhost'), 403)
  t.equal(await refusedStatus(mainSocketUrl(url), 'trusted-host'), 403)
})
