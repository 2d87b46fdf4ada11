/**
 * The seed's JavaScript client class, unchanged but for its missing `handleAuthResponse`, run in
 * Node against a real server with `ws` as its WebSocket global (plus an allowed Origin): auth,
 * the seed's own subscriptions (filters spread at the top level), then telemetry, an alert, a
 * device status change and system status at the requested period arrive through its handlers.
 */
import t from 'tap'
import WebSocket from 'ws'
import { ValtronicsWebSocket } from './fixtures/seed-client.js'
import { api, authed, createDevice, createUser, ingest, iotApp, type Msg } from './support.js'

/** Resolves with the next call of a handler. */
function nextCall(client: ValtronicsWebSocket, handler: 'onAuthResponse' | 'onTelemetryUpdate' | 'onAlert' | 'onDeviceStatusUpdate' | 'onSystemStatusUpdate'): Promise<Msg> {
  return new Promise((resolve) => {
    client[handler] = (data: Msg) => {
      delete client[handler]
      resolve(data)
    }
  })
}

t.test("the seed's JavaScript client works as written", async (t) => {
  const ta = await iotApp(t, { SYSTEM_STATUS_INTERVAL: '1' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  await api(ta, u.key, 'POST', `/api/client/devices/${dev.id}/alert-rules`, { metric: 'temperature', operator: '>', threshold: 30, severity: 'critical', title: 'High Temperature Alert', message: 'Temperature exceeds safe threshold' })

  const origin = ta.url
  const g = globalThis as { WebSocket?: unknown }
  const saved = g.WebSocket
  g.WebSocket = class extends WebSocket {
    constructor(url: string) {
      super(url, { headers: { origin } })
    }
  }
  t.teardown(() => {
    g.WebSocket = saved
  })
  const silence = t.capture(console, 'log')
  t.teardown(silence.restore)

  const { data } = (await api(ta, u.key, 'GET', '/api/client/websocket')).body!
  t.match(data.socket, /^ws:\/\/127\.0\.0\.1:\d+\/ws$/)
  const client = new ValtronicsWebSocket(data.socket, data.token)
  client.maxReconnectAttempts = 0
  t.teardown(() => client.disconnect())
  const authResponse = nextCall(client, 'onAuthResponse')
  client.connect()
  t.match(await authResponse, { type: 'auth_response', success: true })

  const raw: Msg[] = []
  client.ws!.addEventListener('message', (e) => raw.push(JSON.parse(e.data)))
  client.subscribe('telemetry', { device_id: dev.id })
  client.subscribe('alerts', { severity: ['critical', 'warning'] })
  client.subscribe('devices')
  client.subscribe('system', { metrics: ['cpu_usage', 'memory_usage', 'active_connections'], frequency: '1s' })
  // The subscriptions are processed in order; a ping behind them tells when they are done.
  const pong = new Promise<void>((resolve) => client.ws!.addEventListener('message', (e) => JSON.parse(e.data).type === 'pong' && resolve()))
  client.send({ type: 'ping', timestamp: new Date().toISOString() })
  await pong
  t.same(raw.filter((m) => m.type === 'subscribed').map((m) => m.channel), ['telemetry', 'alerts', 'devices', 'system'])

  const telemetry = nextCall(client, 'onTelemetryUpdate')
  const alert = nextCall(client, 'onAlert')
  const status = nextCall(client, 'onDeviceStatusUpdate')
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: { value: 32.5, unit: '°C', timestamp: '2024-01-01T12:00:00Z' } } })
  t.same((await telemetry).telemetry, { temperature: { value: 32.5, unit: '°C', timestamp: '2024-01-01T12:00:00.000Z' } })
  t.match(await alert, { type: 'alert', channel: 'alerts', device_id: dev.id, severity: 'critical', title: 'High Temperature Alert', message: 'Temperature exceeds safe threshold', metadata: { threshold_value: 30, actual_value: 32.5 } })
  t.match(await status, { type: 'device_status_update', channel: 'devices', device_id: dev.id, old_status: 'offline', new_status: 'online' })

  const s1 = await nextCall(client, 'onSystemStatusUpdate')
  const s2 = await nextCall(client, 'onSystemStatusUpdate')
  t.same(Object.keys(s1.metrics).sort(), ['active_connections', 'cpu_usage', 'memory_usage'], 'only the requested metrics')
  for (const v of [s1.metrics.cpu_usage, s1.metrics.memory_usage]) t.ok(v >= 0 && v <= 100, 'percent')
  t.ok(s1.metrics.active_connections >= 1)
  t.ok(Date.parse(s2.timestamp) > Date.parse(s1.timestamp), 'periodic updates')
  t.equal(s1.channel, 'system')

  // System status on its own route: default period (SYSTEM_STATUS_INTERVAL), all four metrics.
  const c = await authed(ta, u.key, '/ws/system')
  const ack = await c.request({ type: 'subscribe', channel: 'system' }, 'subscribed')
  t.same(ack.filters, { frequency: '1s' })
  const s = await c.nextOf('system_status_update')
  t.same(Object.keys(s), ['type', 'channel', 'metrics', 'timestamp'])
  t.same(Object.keys(s.metrics), ['cpu_usage', 'memory_usage', 'disk_usage', 'active_connections'])
  t.same(ta.app.iot.system.periods, [1000], 'one timer per distinct period')
  client.unsubscribe('system')
  await c.request({ type: 'unsubscribe', channel: 'system' }, 'unsubscribed')
  t.equal(ta.app.hub.subscriberCount('system:1000'), 0, 'no subscriber left behind')
})
