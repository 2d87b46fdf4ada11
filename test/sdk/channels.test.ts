/**
 * The SDK's channels socket against a real wirehub: credentials from `GET /api/client/websocket`,
 * a filtered telemetry subscription fed by real HTTP ingestion, `ping()`, token refresh on the
 * same socket (TTL 24 s: `token_expiring` ~12 s after auth, at TTL/2; one refresh), and a wirehub restart
 * in the middle of a stream (same port, same database): the client comes back, resubscribes,
 * and sees every alert exactly once, including one raised while it was disconnected (recovered
 * through `GET /api/client/alerts?since=`).
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { AlertMessage, TelemetryUpdate } from '../../packages/client/src/index.js'
import { bearer, build, freshDatabase } from '../helper.js'
import { countingFetch, next, sdkClient, userWithKey } from './support.js'
import { freePort } from '../wait.js'

async function createDevice(app: FastifyInstance, key: string, name: string) {
  const res = await app.inject({ method: 'POST', url: '/api/client/devices', headers: bearer(key), payload: { name, units: { temperature: '°C' } } })
  if (res.statusCode !== 201) throw new Error(`create device: ${res.statusCode} ${res.body}`)
  const body = res.json<{ attributes: { id: number }; meta: { device_key: string } }>()
  return { id: body.attributes.id, key: body.meta.device_key }
}

async function ingest(app: FastifyInstance, device: { id: number; key: string }, telemetry: Record<string, number>) {
  const payload = { telemetry: Object.fromEntries(Object.entries(telemetry).map(([m, value]) => [m, { value }])) }
  const res = await app.inject({ method: 'POST', url: `/api/devices/${device.id}/telemetry`, headers: bearer(device.key), payload })
  if (res.statusCode >= 300) throw new Error(`ingest: ${res.statusCode} ${res.body}`)
}

t.test('channels: filtered telemetry, ping, token refresh on the same socket', async (t) => {
  const { app, url, adminKey } = await build(t, { listen: true, env: { ALLOWED_ORIGINS: '*', SOCKET_TOKEN_TTL: '24' } })
  const user = await userWithKey(app, adminKey, 'channels@example.test')
  const device = await createDevice(app, user.key, 'sdk-1')
  const f = countingFetch()
  const ch = sdkClient(t, url, user.key, { fetch: f.fetch }).channels()
  const refreshed = next(ch, 'refresh')
  const subscribed = next(ch, 'subscribed')
  ch.subscribe('telemetry', { device_id: device.id, metrics: ['temperature'] })
  await ch.ready()
  await subscribed

  const update = next(ch, 'telemetry')
  await ingest(app, device, { temperature: 21.5, humidity: 40 })
  const u: TelemetryUpdate = await update
  t.equal(u.device_id, device.id)
  t.same(Object.keys(u.telemetry), ['temperature'], 'only the subscribed metric')
  t.equal(u.telemetry.temperature!.value, 21.5)

  const rtt = await ch.ping()
  t.type(rtt, 'number')
  t.ok(rtt >= 0, 'round trip in ms')

  await refreshed
  t.equal(ch.stats.tokenRefreshes, 1)
  t.equal(f.count('/api/client/websocket'), 2, 'one fetch to connect, one to refresh')
  t.equal(ch.stats.connections, 1, 'no reconnect for a refresh')
  const after = next(ch, 'telemetry')
  await ingest(app, device, { temperature: 22 })
  t.equal((await after).telemetry.temperature!.value, 22, 'still streaming after the refresh')
})

t.test('channels: restart mid-stream — reconnect, resubscribe, every alert exactly once', async (t) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env = { DATABASE_URL: await freshDatabase(t), PUBLIC_URL: base, ALLOWED_ORIGINS: '*' }
  const first = await build(t, { env })
  await first.app.listen({ host: '127.0.0.1', port })
  const user = await userWithKey(first.app, first.adminKey, 'restart@example.test')
  const device = await createDevice(first.app, user.key, 'sdk-restart')
  const rule = await first.app.inject({
    method: 'POST',
    url: `/api/client/devices/${device.id}/alert-rules`,
    headers: bearer(user.key),
    payload: { metric: 'temperature', operator: '>', threshold: 30, severity: 'critical', alert_type: 'high_temperature', cooldown: 0 },
  })
  t.equal(rule.statusCode, 201, 'rule created')

  const ch = sdkClient(t, base, user.key).channels()
  const got: AlertMessage[] = []
  ch.onAlert((a) => got.push(a))
  ch.subscribe('alerts', { device_id: device.id })
  ch.subscribe('telemetry', { device_id: device.id })
  await ch.ready()
  await next(ch, 'subscribed', (a) => a.channel === 'telemetry')

  // 1: live, before the restart
  let alerted = next(ch, 'alert')
  await ingest(first.app, device, { temperature: 35 })
  await alerted
  await ingest(first.app, device, { temperature: 20 }) // clears the breach

  // Restart: the new instance raises alert 2 before it listens, so the client is disconnected then.
  const away = next(ch, 'close')
  await first.app.close()
  t.equal((await away).willReconnect, true, 'reconnect scheduled')
  const second = await build(t, { env })
  await ingest(second.app, device, { temperature: 37 })
  await ingest(second.app, device, { temperature: 20 })
  const recovered = next(ch, 'alert', (a) => a.recovered === true)
  const resubscribed = next(ch, 'subscribed', (a) => a.channel === 'telemetry')
  await second.app.listen({ host: '127.0.0.1', port })
  await resubscribed
  await recovered

  // 3: live after the reconnect; telemetry flows again (resubscribed)
  alerted = next(ch, 'alert', (a) => !a.recovered)
  const tele = next(ch, 'telemetry')
  await ingest(second.app, device, { temperature: 38 })
  await tele
  await alerted

  const res = await second.app.inject({ method: 'GET', url: '/api/client/alerts?since=0', headers: bearer(user.key) })
  const stored = res.json<{ data: Array<{ attributes: { id: number } }> }>().data.map((a) => a.attributes.id)
  t.equal(stored.length, 3, 'three alerts stored')
  t.same(got.map((a) => a.alert_id).sort((a, b) => a - b), stored.sort((a, b) => a - b), 'each stored alert delivered exactly once')
  t.same(got.map((a) => !!a.recovered), [false, true, false], 'the one raised while disconnected came from the since= catch-up')
  t.equal(ch.stats.reconnects >= 1, true)
})
