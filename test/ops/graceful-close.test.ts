/**
 * Closing the app (what SIGTERM does): every socket is closed with 1012 (service restart) and a reason, and no
 * reading that was acknowledged is lost, even with ingestion in full flow while closing.
 */
import t from 'tap'
import pg from 'pg'
import WebSocket from 'ws'
import { bearer, build, freshDatabase } from '../helper.js'
import { createDevice, createUser, authed } from '../channels/support.js'

t.test('sockets are closed with 1012 on shutdown', async (t) => {
  const ta = await build(t, { listen: true, env: { DEMO_SERVER: 'false', ALLOWED_ORIGINS: '*', WS_CONNECTIONS_PER_MINUTE: '1000' } })
  const user = await createUser(ta)
  const channel = await authed(ta, user.key)
  const raw = new WebSocket(`${ta.url.replace('http', 'ws')}/ws`, { headers: { origin: ta.url } })
  await new Promise((r) => raw.once('open', r))
  const rawClosed = new Promise<number>((r) => raw.once('close', (code) => r(code)))
  await ta.app.close()
  const closed = await channel.closed
  t.equal(closed.code, 1012, 'an authenticated channel socket gets 1012')
  t.match(closed.reason, /service restart/)
  t.equal(await rawClosed, 1012, 'an unauthenticated socket too')
})

t.test('no acknowledged reading is lost when closing mid-stream', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const ta = await build(t, { listen: true, env: { DATABASE_URL, DEMO_SERVER: 'false', RATE_LIMIT_MAX: '100000' } })
  const user = await createUser(ta)
  const device = await createDevice(ta, user.key)
  let acknowledged = 0
  let stop = false
  const agent = async () => {
    while (!stop) {
      const readings = Array.from({ length: 20 }, (_, i) => ({ telemetry: { v: { value: i } } }))
      try {
        const res = await fetch(`${ta.url}/api/devices/${device.id}/telemetry`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(device.deviceKey) },
          body: JSON.stringify({ readings }),
        })
        if (res.status === 201) acknowledged += readings.length
        else await res.arrayBuffer()
      } catch {
        return // the server is gone
      }
    }
  }
  const agents = Array.from({ length: 6 }, agent)
  while (acknowledged < 400) await new Promise((r) => setTimeout(r, 5))
  const t0 = Date.now()
  await ta.app.close()
  t.comment(`close took ${Date.now() - t0} ms`)
  stop = true
  await Promise.all(agents)
  const c = new pg.Client({ connectionString: DATABASE_URL })
  await c.connect()
  const { rows } = await c.query<{ n: string }>('select count(*) as n from telemetry where device_id = $1', [device.id])
  await c.end()
  t.ok(acknowledged >= 400, `${acknowledged} readings acknowledged`)
  t.ok(Number(rows[0]!.n) >= acknowledged, `all ${acknowledged} acknowledged readings are stored (${rows[0]!.n} rows)`)
})
