/** /metrics serves Prometheus text with wirehub's metrics; METRICS_REQUIRE_KEY protects it. */
import t from 'tap'
import { bearer, build } from '../helper.js'

t.test('metrics are exposed in Prometheus format', async (t) => {
  const { app } = await build(t)
  await app.inject({ method: 'GET', url: '/health' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  for (const name of [
    'wirehub_http_request_duration_seconds_bucket',
    'wirehub_sockets_open',
    'wirehub_auth_failures_total',
    'wirehub_slow_consumer_disconnects_total',
    'wirehub_publish_to_send_seconds',
    'wirehub_process_resident_memory_bytes',
  ]) t.match(res.body, name, name)
  t.match(res.body, /route="\/health"/, 'HTTP durations are labelled by route template')
})

t.test('METRICS_REQUIRE_KEY demands an application key', async (t) => {
  const { app, adminKey } = await build(t, { env: { METRICS_REQUIRE_KEY: 'true' } })
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: bearer(adminKey) })).statusCode, 200)
})
