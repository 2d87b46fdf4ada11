// The outbound channel messages each publisher defines (TypeBox) describe what its codec really
// sends, and the AsyncAPI document carries exactly those schemas: a codec or document that drifts
// from the schema fails here.
import t, { type Test } from 'tap'
import { Compile } from 'typebox/compile'
import type { TSchema } from 'typebox'
import { DeviceStatusUpdateMessage, TelemetryUpdateMessage, deviceStatusCodec, telemetryCodec, telemetryVariant } from '../../src/modules/devices/devices.messages.js'
import { AlertMessage, alertCodec } from '../../src/modules/alerts/alerts.messages.js'
import { SystemStatusMessage, systemStatusCodec } from '../../src/modules/system/system-status.codec.js'
import { buildAsyncApi } from '../../src/modules/system/asyncapi.js'
import type { Codec } from '../../src/modules/realtime/hub.js'
import { CommandUpdateMessage, commandsCodec } from '../../src/modules/commands/commands.topics.js'
import { CHANNEL_REPLIES } from '../../src/modules/channels/channels.replies.js'
import { Client, channelToken, createDevice, createUser, iotApp } from './support.js'

function frameOf(codec: Codec, payload: unknown, variant = ''): unknown {
  const text = codec.encode(payload, variant)
  if (text === null) throw new Error('codec produced no frame')
  return JSON.parse(text)
}

function conforms(tt: Test, schema: TSchema, frame: unknown, name: string) {
  const check = Compile(schema)
  tt.ok(check.Check(frame), `${name} frame matches its schema`, { errors: [...check.Errors(frame)].slice(0, 3) })
}

t.test('each codec sends what its message schema says', async (tt) => {
  const ts = '2026-01-01T00:00:00.000Z'
  conforms(tt, TelemetryUpdateMessage, frameOf(telemetryCodec, { device_id: 1, offset: 7, telemetry: { t: { value: 1.5, unit: 'C', timestamp: ts }, h: { value: 2, unit: null, timestamp: ts } } }), 'telemetry_update')
  conforms(tt, TelemetryUpdateMessage, frameOf(telemetryCodec, { device_id: 1, offset: 7, telemetry: { t: { value: 1.5, unit: 'C', timestamp: ts } } }, 't'), 'telemetry_update (subset)')
  const withOffset = frameOf(telemetryCodec, { device_id: 1, offset: 7, telemetry: { t: { value: 1.5, unit: 'C', timestamp: ts } } }, telemetryVariant(['t'], true))
  conforms(tt, TelemetryUpdateMessage, withOffset, 'telemetry_update (with offset)')
  tt.equal((withOffset as { offset: number }).offset, 7)
  conforms(tt, DeviceStatusUpdateMessage, frameOf(deviceStatusCodec, { device_id: 1, old_status: 'offline', new_status: 'online', timestamp: ts, reason: null, metadata: { last_seen: ts } }), 'device_status_update')
  conforms(
    tt,
    AlertMessage,
    frameOf(alertCodec, { alert_id: 3, device_id: 1, severity: 'critical', title: 'x', message: 'y', timestamp: ts, alert_type: 'threshold', metadata: { threshold_value: 1, actual_value: 2, metric: 't' } }),
    'alert',
  )
  conforms(tt, SystemStatusMessage, frameOf(systemStatusCodec, { metrics: { cpu_usage: 1, memory_usage: 2, disk_usage: 3, active_connections: 4 }, timestamp: ts }), 'system_status_update')
  const command = { id: 4, device_id: 1, method: 'reboot', params: {}, state: 'SENT', result: null, error: null, timeout: 60, transport: 'mqtt', created_by: 1, created_at: ts, sent_at: ts, delivered_at: null, completed_at: null, expires_at: ts }
  conforms(tt, CommandUpdateMessage, frameOf(commandsCodec, command), 'command_update')
})

t.test('the AsyncAPI document carries the publishers\' schemas', async (tt) => {
  const doc = buildAsyncApi('http://127.0.0.1:8080') as { channels: { channels: { messages: Record<string, { name: string; payload: unknown }> } } }
  const plain = (s: unknown) => JSON.parse(JSON.stringify(s)) as unknown
  const messages = Object.values(doc.channels.channels.messages)
  const find = (name: string) => messages.find((m) => m.name === name)?.payload
  tt.same(find('telemetry_update'), plain(TelemetryUpdateMessage))
  tt.same(find('alert'), plain(AlertMessage))
  tt.same(find('device_status_update'), plain(DeviceStatusUpdateMessage))
  tt.same(find('system_status_update'), plain(SystemStatusMessage))
  tt.same(find('command_update'), plain(CommandUpdateMessage))
})

t.test("a real channel socket's own replies match their schemas, as does the AsyncAPI document", async (tt) => {
  const ta = await iotApp(tt, { SOCKET_TOKEN_TTL: '5' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const c = await Client.open(ta)
  c.ws.on('error', () => {})
  await c.request({ type: 'auth', token: 'not-a-token' }, 'auth_response')
  await c.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'error')
  c.send('{not json')
  await c.nextOf('error')
  await c.request({ type: 'ping', timestamp: 12 }, 'pong')
  await c.request({ type: 'ping' }, 'pong')
  await c.request({ type: 'auth', token: await channelToken(ta, u.key) }, 'auth_response')
  await c.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id, filters: { frequency: '1s', metrics: ['t'] } }, 'subscribed')
  await c.request({ type: 'subscribe', channel: 'system' }, 'subscribed')
  await c.request({ type: 'subscribe', channel: 'alerts', device_id: [dev.id] }, 'subscribed')
  await c.request({ type: 'unsubscribe', channel: 'alerts', device_id: dev.id }, 'unsubscribed')
  await c.request({ type: 'nope' }, 'error')
  await c.nextOf('token_expiring')
  const seen = new Set<string>()
  for (const frame of c.messages) {
    const schema = (CHANNEL_REPLIES as Record<string, TSchema>)[frame.type as string]
    if (!schema) continue
    seen.add(frame.type as string)
    conforms(tt, schema, frame, frame.type as string)
  }
  tt.same([...seen].sort(), ['auth_response', 'error', 'pong', 'subscribed', 'token_expiring', 'unsubscribed'], 'every reply kind was seen')
  c.close()

  const doc = buildAsyncApi('http://127.0.0.1:8080') as { channels: { channels: { messages: Record<string, { name: string; payload: unknown }> } } }
  const messages = Object.values(doc.channels.channels.messages)
  for (const [name, schema] of Object.entries(CHANNEL_REPLIES)) {
    tt.same(messages.find((m) => m.name === name)?.payload, JSON.parse(JSON.stringify(schema)), `AsyncAPI documents ${name} with its schema`)
  }
})
