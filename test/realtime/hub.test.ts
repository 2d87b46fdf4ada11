/**
 * The hub's functional guarantees with real ws clients on a real port: one serialisation per
 * publication per variant, filters, once-per-connection delivery across overlapping topics,
 * lanes for a client that stops reading (collapse with a count; slow-consumer close; bounded
 * memory), keepalive reaping, and no index entry left behind.
 */
import t from 'tap'
import { once } from 'node:events'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'
import { rig } from './support.js'
import { until } from '../wait.js'

t.test('one serialisation per publication, same bytes to every subscriber', async (t) => {
  const r = await rig(t)
  const clients = await Promise.all(Array.from({ length: 20 }, () => r.client()))
  for (const c of clients) r.hub.subscribe(c.conn, 'news')
  const before = r.hub.encodes
  r.hub.publish({ topics: ['news'], codec: 'json', payload: { n: 1 }, lane: 'reliable' })
  t.equal(r.hub.encodes - before, 1, 'encoded once for 20 recipients')
  await until(() => clients.every((c) => c.messages.length === 1), 'all deliveries')
  for (const c of clients) t.same(c.messages[0], { n: 1 })
})

t.test('one serialisation per distinct variant', async (t) => {
  const r = await rig(t)
  const [a, b, c, d] = await Promise.all([r.client(), r.client(), r.client(), r.client()])
  r.hub.subscribe(a!.conn, 'tele', { variant: 'temp' })
  r.hub.subscribe(b!.conn, 'tele', { variant: 'temp' })
  r.hub.subscribe(c!.conn, 'tele', { variant: 'hum,temp' })
  r.hub.subscribe(d!.conn, 'tele')
  const before = r.hub.encodes
  r.hub.publish({ topics: ['tele'], codec: 'pick', payload: { temp: 20, hum: 40, co2: 1 }, lane: 'droppable' })
  t.equal(r.hub.encodes - before, 3, "variants 'temp', 'hum,temp' and the full message")
  await until(() => [a, b, c, d].every((x) => x!.messages.length === 1), 'deliveries')
  t.same(a!.messages[0], { temp: 20 })
  t.same(b!.messages[0], { temp: 20 })
  t.same(c!.messages[0], { hum: 40, temp: 20 })
  t.same(d!.messages[0], { temp: 20, hum: 40, co2: 1 })
  // A variant with nothing to send is skipped, not sent empty.
  r.hub.publish({ topics: ['tele'], codec: 'pick', payload: { co2: 2 }, lane: 'droppable' })
  await until(() => d!.messages.length === 2, 'full subscriber gets co2')
  t.equal(a!.messages.length, 1, 'temp-only subscriber got nothing for a co2-only reading')
})

t.test('filters are applied and a connection gets a message once across overlapping topics', async (t) => {
  const r = await rig(t)
  const [crit, all] = await Promise.all([r.client(), r.client()])
  const severities = new Set(['critical'])
  r.hub.subscribe(crit!.conn, 'alerts:1', { filter: (p) => severities.has((p as { severity: string }).severity) })
  r.hub.subscribe(all!.conn, 'alerts:1')
  r.hub.subscribe(all!.conn, 'alerts:user:7')
  r.hub.publish({ topics: ['alerts:1', 'alerts:user:7'], codec: 'json', payload: { severity: 'info', id: 1 }, lane: 'reliable' })
  r.hub.publish({ topics: ['alerts:1', 'alerts:user:7'], codec: 'json', payload: { severity: 'critical', id: 2 }, lane: 'reliable' })
  await until(() => all!.messages.length >= 2 && crit!.messages.length >= 1, 'deliveries')
  await new Promise((r) => setTimeout(r, 50))
  t.same(all!.messages, [{ severity: 'info', id: 1 }, { severity: 'critical', id: 2 }], 'no duplicates across two topics')
  t.same(crit!.messages, [{ severity: 'critical', id: 2 }], 'filtered subscriber only sees critical')
})

t.test('minimum interval keeps only the latest message per key', async (t) => {
  const r = await rig(t)
  const c = await r.client()
  r.hub.subscribe(c.conn, 'sys', { minIntervalMs: 200 })
  for (let i = 1; i <= 5; i++) r.hub.publish({ topics: ['sys'], codec: 'json', payload: { i }, lane: 'droppable', collapseKey: 'k' })
  await until(() => c.messages.length === 2, 'first and trailing message')
  t.same(c.messages, [{ i: 1 }, { i: 5 }])
})

t.test('a client that stops reading: droppables collapse with a count, memory stays bounded', async (t) => {
  const soft = 16 * 1024
  const hard = 256 * 1024
  const r = await rig(t, { soft, hard })
  const c = await r.client()
  r.hub.subscribe(c.conn, 'tele')
  // Stop reading: the kernel buffers fill first, then wirehub's.
  ;(c.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  const blob = 'x'.repeat(4000)
  let maxBuffered = 0
  for (let i = 0; i < 4000; i++) {
    r.hub.publish({ topics: ['tele'], codec: 'json', payload: { key: i % 3, i, blob }, lane: 'droppable', collapseKey: String(i % 3) })
    maxBuffered = Math.max(maxBuffered, c.conn.bufferedAmount)
  }
  t.ok(c.conn.collapsed > 0, `collapsed ${c.conn.collapsed} samples`)
  t.ok(maxBuffered <= soft + 5000, `buffered stayed near the soft limit (${maxBuffered} bytes)`)
  t.notOk(c.conn.closed, 'droppable overflow never disconnects')
  ;(c.ws as unknown as { _socket: { resume(): void } })._socket.resume()
  await until(() => c.messages.some((m) => (m as { type?: string }).type === 'collapsed'), 'collapsed notice')
  const notice = c.messages.find((m) => (m as { type?: string }).type === 'collapsed') as { count: number }
  t.ok(notice.count > 0, `client told ${notice.count} were collapsed`)
  await until(() => c.messages.some((m) => (m as { i?: number }).i === 3999), 'the latest sample arrives')
})

t.test('a client that stops reading must-deliver messages is closed with 4008', async (t) => {
  const hard = 128 * 1024
  const r = await rig(t, { soft: 16 * 1024, hard })
  const c = await r.client()
  const other = await r.client()
  r.hub.subscribe(c.conn, 'console')
  r.hub.subscribe(other.conn, 'console')
  ;(c.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  const line = 'y'.repeat(4000)
  let maxBuffered = 0
  for (let i = 0; i < 4000 && !c.conn.closed; i++) {
    r.hub.publish({ topics: ['console'], codec: 'json', payload: { i, line }, lane: 'reliable' })
    maxBuffered = Math.max(maxBuffered, c.conn.bufferedAmount)
    // Yield now and then: the reading client lives in this process and must get to read.
    if (i % 8 === 7) await new Promise((res) => setImmediate(res))
  }
  t.ok(c.conn.closed, 'slow client closed')
  t.equal(c.conn.closeCode, CLOSE.SLOW_CONSUMER.code)
  t.ok(maxBuffered <= hard, `buffered never exceeded the hard limit (${maxBuffered} <= ${hard})`)
  t.equal(r.hub.slowDisconnects, 1)
  const closed = once(c.ws, 'close')
  ;(c.ws as unknown as { _socket: { resume(): void } })._socket.resume()
  const [code] = (await closed) as [number]
  t.equal(code, 4008, 'the client sees the documented close code')
  t.notOk(other.conn.closed, 'a reading client is unaffected')
})

t.test('keepalive terminates a peer that stops answering pings', async (t) => {
  const r = await rig(t, { pingMs: 100 })
  const c = await r.client()
  r.hub.subscribe(c.conn, 'x')
  ;(c.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  await until(() => r.hub.connections.size === 0, 'reaping')
  t.equal(r.hub.topicCount, 0, 'its subscriptions were removed')
  const alive = await r.client()
  await new Promise((res) => setTimeout(res, 350))
  t.equal(r.hub.connections.size, 1, 'an answering peer survives several ping rounds')
  t.notOk(alive.conn.closed)
})

t.test('unsubscribe and disconnect leave no entry behind', async (t) => {
  const r = await rig(t)
  const c = await r.client()
  const subs = ['a', 'b', 'c'].map((topic) => r.hub.subscribe(c.conn, topic, { minIntervalMs: 50 }))
  r.hub.publish({ topics: ['a'], codec: 'json', payload: 1, lane: 'droppable' })
  r.hub.publish({ topics: ['a'], codec: 'json', payload: 2, lane: 'droppable' })
  r.hub.unsubscribe(subs[0]!)
  t.equal(r.hub.subscriberCount('a'), 0)
  t.equal(r.hub.topicCount, 2)
  t.equal(c.conn.subs?.length ?? 0, 2)
  const closed = new Promise((res) => c.ws.once('close', res))
  c.ws.close()
  await closed
  await until(() => r.hub.connections.size === 0, 'connection removal')
  t.equal(r.hub.topicCount, 0, 'no topic left')
  t.equal(c.conn.subs?.length ?? 0, 0, 'no subscription left on the connection')
})
