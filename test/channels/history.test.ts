/**
 * History-then-live subscriptions on `/ws`: `history` (last N, since a time, since an offset) and
 * `snapshot` deliver first, then live updates, with every reading's offset, and no gap and no
 * duplicate at the seam while another client keeps ingesting; a second socket resumes from an
 * offset; bad requests are refused with `invalid_filter`. The SDK's `streamTelemetry` gets every
 * reading once, in order, across a reconnect.
 */
import t from 'tap'
import { authed, createDevice, createUser, ingest, iotApp, type Msg } from './support.js'
import { sdkClient } from '../sdk/support.js'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'
import type { StreamReading } from '../../packages/client/src/index.js'

/** Offsets of the readings a socket got (history frames, then live updates) for one device. */
function offsetsOf(messages: Msg[], deviceId: number): number[] {
  const out: number[] = []
  for (const m of messages) {
    if (m.device_id !== deviceId) continue
    if (m.type === 'telemetry_history') for (const r of m.readings) out.push(r.offset)
    if (m.type === 'telemetry_update') out.push(m.offset)
  }
  return out
}

t.test('history then live: no gap, no duplicate at the seam under concurrent ingestion', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  for (let i = 0; i < 3; i++) await ingest(ta, dev.id, dev.deviceKey, { readings: Array.from({ length: 20 }, (_, j) => ({ telemetry: { v: i * 20 + j + 1 } })) })

  // Ingestion keeps going (single readings, 4 at a time) while sockets subscribe.
  const TOTAL = 160
  let sent = 60
  const writer = (async () => {
    while (sent < TOTAL) {
      const batch = Array.from({ length: 4 }, () => ingest(ta, dev.id, dev.deviceKey, { v: ++sent }))
      await Promise.all(batch)
    }
  })()
  const socks = await Promise.all([authed(ta, u.key), authed(ta, u.key), authed(ta, u.key)])
  const acks = await Promise.all(socks.map((s, i) => s.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id, history: i === 2 ? { since_offset: 30 } : { last: 1000 } }, 'subscribed')))
  t.same(acks.map((a) => a.type), ['subscribed', 'subscribed', 'subscribed'])
  const completes = await Promise.all(socks.map((s) => s.next((m) => m.type === 'telemetry_history' && m.complete)))
  await writer
  for (const s of socks) await s.next((m) => m.type === 'telemetry_update' && m.offset === TOTAL).catch(() => undefined)
  for (const [i, s] of socks.entries()) {
    const offsets = offsetsOf(s.messages, dev.id)
    const first = i === 2 ? 31 : 1
    t.same(offsets, Array.from({ length: TOTAL - first + 1 }, (_, k) => first + k), `socket ${i}: offsets ${first}..${TOTAL} exactly once, in order (history up to ${completes[i]!.last_offset}, then live)`)
  }
  const live = socks[0]!.messages.find((m) => m.type === 'telemetry_update')
  t.ok(Number.isInteger(live?.offset), 'live updates carry the offset')
  t.equal(completes[0]!.truncated, false)
})

t.test('snapshot, since a time, and refusals', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  await ingest(ta, dev.id, dev.deviceKey, { readings: [{ timestamp: '2026-01-01T00:00:00Z', telemetry: { a: 1 } }, { timestamp: '2026-01-02T00:00:00Z', telemetry: { a: 2, b: 5 } }] })
  await ingest(ta, dev.id, dev.deviceKey, { b: 6 })
  const s = await authed(ta, u.key)
  await s.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id, snapshot: true, history: { since: '2026-01-02T00:00:00Z' } }, 'subscribed')
  const snap = await s.nextOf('telemetry_snapshot')
  t.same(Object.fromEntries(Object.entries(snap.latest).map(([m, v]: [string, any]) => [m, [v.value, v.offset]])), { a: [2, 2], b: [6, 3] }, 'latest value and offset of each metric')
  const hist = await s.nextOf('telemetry_history')
  t.same(hist.readings.map((r: any) => r.offset), [2, 3], 'readings from the first at or after `since`')
  t.equal(hist.complete, true)
  t.equal(hist.last_offset, 3)

  const refusals: Array<[Msg, RegExp]> = [
    [{ type: 'subscribe', channel: 'alerts', device_id: dev.id, history: { last: 5 } }, /telemetry channel only/],
    [{ type: 'subscribe', channel: 'telemetry', history: { last: 5 } }, /need device_id/],
    [{ type: 'subscribe', channel: 'telemetry', device_id: dev.id, history: { last: 5, since_offset: 1 } }, /exactly one/],
    [{ type: 'subscribe', channel: 'telemetry', device_id: dev.id, history: { since: '0000-01-01T00:00:00Z' } }, /history.since/],
  ]
  for (const [msg, re] of refusals) {
    const r = await s.request(msg, 'subscribed')
    t.equal(r.code, 'invalid_filter', JSON.stringify(msg))
    t.match(r.message, re)
  }
  const plain = await authed(ta, u.key)
  await plain.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')
  await ingest(ta, dev.id, dev.deviceKey, { a: 7 })
  const update = await plain.nextOf('telemetry_update')
  t.same(Object.keys(update), ['type', 'channel', 'device_id', 'telemetry'], 'a plain subscription keeps the seed format (no offset)')
})

t.test('SDK streamTelemetry: history then live, each reading once, across a reconnect', async (t) => {
  const ta = await iotApp(t, { ALLOWED_ORIGINS: '*' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  await ingest(ta, dev.id, dev.deviceKey, { readings: Array.from({ length: 5 }, (_, i) => ({ telemetry: { v: i + 1 } })) })
  const ch = sdkClient(t, ta.url, u.key).channels()
  const got: StreamReading[] = []
  let waiter: { offset: number; resolve: () => void } | null = null
  const until = (offset: number) =>
    new Promise<void>((resolve) => {
      if (got.some((r) => r.offset >= offset)) return resolve()
      waiter = { offset, resolve }
    })
  ch.streamTelemetry(dev.id, { last: 3 }, {
    onReading(r) {
      got.push(r)
      if (waiter && r.offset >= waiter.offset) waiter.resolve()
    },
  })
  await ch.ready()
  await until(5)
  await ingest(ta, dev.id, dev.deviceKey, { v: 6 })
  await until(6)
  // The server drops every channel socket (as a restart would); readings arrive meanwhile.
  // Upgrades are refused with a retryable 503 until both are stored, so the client is away for
  // all of them however fast it reconnects.
  const index = ta.app.sockets.index
  const admit = index.admit.bind(index)
  index.admit = () => ({ status: 503, code: CLOSE.TOO_MANY_CONNECTIONS, message: 'restarting' })
  const reconnected = new Promise<void>((resolve) => ch.on('open', () => resolve()))
  ta.app.hub.forEachConnection((c) => c.close(CLOSE.RESTART))
  await ingest(ta, dev.id, dev.deviceKey, { v: 7 })
  await ingest(ta, dev.id, dev.deviceKey, { v: 8 })
  index.admit = admit
  await reconnected
  await until(8)
  await ingest(ta, dev.id, dev.deviceKey, { v: 9 })
  await until(9)
  t.same(got.map((r) => r.offset), [3, 4, 5, 6, 7, 8, 9], 'the last 3, then live, then what was missed while away, then live: once each, in order')
  t.same(got.map((r) => r.history), [true, true, true, false, true, true, false])
  t.equal(ch.streamOffset(dev.id), 9)
})
