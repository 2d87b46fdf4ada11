/**
 * Coalesced writes, with real ws clients on a real port: the frames a socket gets in one
 * event-loop turn leave in one socket write (counted by wrapping the server-side TCP socket's
 * `_write`/`_writev`, which Node calls once per write it hands to libuv), and still reach the
 * client as separate, intact frames in order, across lanes, with permessage-deflate too. A turn
 * that corks more than the bound is written out early; with coalescing off every frame is its own
 * write, which shows the count can tell the two apart.
 */
import t from 'tap'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import { rig } from './support.js'
import type { Connection } from '../../src/modules/realtime/connection.js'
import { prepareFrame } from '../../src/modules/realtime/frame.js'
import { until } from '../wait.js'

/** Counts the writes Node hands to the kernel for a connection's TCP socket. */
function countWrites(conn: Connection): { readonly writes: number } {
  const socket = (conn.ws as unknown as { _socket: Socket & { _write: Function; _writev: Function } })._socket
  const counter = { writes: 0 }
  const write = socket._write
  const writev = socket._writev
  socket._write = function (this: Socket, ...args: unknown[]) {
    counter.writes++
    return write.apply(this, args)
  }
  socket._writev = function (this: Socket, ...args: unknown[]) {
    counter.writes++
    return writev.apply(this, args)
  }
  return counter
}

/** Waits for the end of the current turn (after every nextTick flush). */
const nextTurn = () => new Promise((res) => setImmediate(res))

t.test('one turn of frames: one write, separate intact frames in order, across lanes', async (t) => {
  const r = await rig(t)
  const c = await r.client()
  r.hub.subscribe(c.conn, 'tele')
  r.hub.subscribe(c.conn, 'alerts')
  const counter = countWrites(c.conn)
  const expected: unknown[] = []
  for (let i = 0; i < 100; i++) {
    // Sizes on both sides of the 126-byte header boundary; lanes interleaved.
    const payload = i % 3 === 0 ? { i, lane: 'reliable', pad: 'r'.repeat(i * 4) } : { i, lane: 'droppable', pad: 'd'.repeat(i) }
    expected.push(payload)
    if (payload.lane === 'reliable') r.hub.publish({ topics: ['alerts'], codec: 'json', payload, lane: 'reliable' })
    else r.hub.publish({ topics: ['tele'], codec: 'json', payload, lane: 'droppable', collapseKey: String(i) })
  }
  const reply = { type: 'pong' }
  c.conn.sendText(JSON.stringify(reply))
  expected.push(reply)
  t.equal(counter.writes, 0, 'nothing written before the end of the turn')
  await nextTurn()
  t.equal(counter.writes, 1, '101 frames of one turn in one write')
  await until(() => c.messages.length === expected.length, 'all frames')
  t.same(c.messages, expected, 'each message its own frame, intact, in order')
  t.equal(c.conn.messagesOut, 101)
  t.equal(c.conn.collapsed, 0, 'a turn of frames on an empty socket is not backlog')

  // The next turn is a new write.
  c.conn.sendText('{"n":1}')
  c.conn.sendText('{"n":2}')
  await nextTurn()
  t.equal(counter.writes, 2, 'one more write for the next turn')
  await until(() => c.messages.length === expected.length + 2, 'next turn')
})

t.test('a batch publication to many sockets: one write per socket', async (t) => {
  const r = await rig(t)
  const clients = await Promise.all(Array.from({ length: 10 }, () => r.client()))
  for (const c of clients) r.hub.subscribe(c.conn, 'telemetry:1')
  const counters = clients.map((c) => countWrites(c.conn))
  // As ingestion publishes a batch of readings: one publication per reading, in one loop.
  for (let i = 0; i < 100; i++) r.hub.publish({ topics: ['telemetry:1'], codec: 'json', payload: { i }, lane: 'droppable', collapseKey: 't:1' })
  await nextTurn()
  t.same(
    counters.map((c) => c.writes),
    clients.map(() => 1),
    '100 readings, one write on each of the 10 sockets',
  )
  await until(() => clients.every((c) => c.messages.length === 100), 'deliveries')
  for (const c of clients) t.same(c.messages, Array.from({ length: 100 }, (_, i) => ({ i })))
})

t.test('a turn past the bound is written out early, still in order', async (t) => {
  const r = await rig(t)
  const c = await r.client()
  const counter = countWrites(c.conn)
  // 1,200 frames (bound 512 per write) and one frame larger than the 64 KiB byte bound.
  for (let i = 0; i < 1200; i++) c.conn.send(prepareFrame(JSON.stringify({ i })), 'reliable')
  const big = { big: 'b'.repeat(70_000) }
  c.conn.send(prepareFrame(JSON.stringify(big)), 'reliable')
  c.conn.send(prepareFrame('{"after":true}'), 'reliable')
  t.equal(counter.writes, 3, 'written early at 512 and 1,024 frames, then at the byte bound')
  await until(() => c.messages.length === 1202, 'all frames')
  // The last frame leaves at the end of the turn, or once the kernel has taken the large write.
  t.equal(counter.writes, 4, 'the rest in one more write')
  t.same(c.messages.slice(0, 1200), Array.from({ length: 1200 }, (_, i) => ({ i })))
  t.same(c.messages[1200], big, 'a 64-bit-length frame intact')
  t.same(c.messages[1201], { after: true })
})

t.test('a reader that stops: backpressure and collapse as before with a turn of frames', async (t) => {
  const soft = 16 * 1024
  const r = await rig(t, { soft, hard: 256 * 1024 })
  const c = await r.client()
  r.hub.subscribe(c.conn, 'tele')
  ;(c.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  const blob = 'x'.repeat(2000)
  // Turns of 10 publications until the kernel's buffers are full and the backlog passes the soft limit.
  let turns = 0
  let maxBuffered = 0
  while (c.conn.collapsed === 0 && turns < 10_000) {
    for (let i = 0; i < 10; i++) {
      r.hub.publish({ topics: ['tele'], codec: 'json', payload: { i, blob }, lane: 'droppable', collapseKey: 'k' })
      maxBuffered = Math.max(maxBuffered, c.conn.bufferedAmount)
    }
    await nextTurn()
    turns++
  }
  t.ok(c.conn.collapsed > 0, `collapsing after ${turns} turns`)
  t.ok(maxBuffered <= soft + 2100, `the backlog stopped one frame past the soft limit (${maxBuffered} bytes)`)
  t.ok(c.conn.bufferedAmount > soft, 'collapse starts only with a real backlog past the soft limit')
  t.notOk(c.conn.closed)
  r.hub.publish({ topics: ['tele'], codec: 'json', payload: { last: true }, lane: 'droppable', collapseKey: 'k' })
  ;(c.ws as unknown as { _socket: { resume(): void } })._socket.resume()
  await until(() => c.messages.some((m) => (m as { last?: boolean }).last === true), 'the latest sample after the collapse notice')
  t.ok(c.messages.some((m) => (m as { type?: string }).type === 'collapsed'), 'collapse notice')
})

t.test('permessage-deflate: a turn of compressed and plain frames arrives intact, in order', async (t) => {
  const r = await rig(t, { deflate: true })
  const c = await r.client()
  t.ok(c.ws.extensions.includes('permessage-deflate'), 'deflate negotiated')
  r.hub.subscribe(c.conn, 'tele')
  const expected: unknown[] = []
  for (let i = 0; i < 60; i++) {
    // Below and above the 256-byte compression threshold, so ws mixes sync and async frames.
    const payload = { i, pad: 'z'.repeat(i % 2 === 0 ? 10 : 600 + i) }
    expected.push(payload)
    r.hub.publish({ topics: ['tele'], codec: 'json', payload, lane: i % 4 === 0 ? 'reliable' : 'droppable', collapseKey: String(i) })
  }
  await until(() => c.messages.length === expected.length, 'all frames')
  t.same(c.messages, expected)
  t.equal(c.conn.collapsed, 0)
})

t.test("'tick' flushes once the current callback is done, 'immediate' after the loop's I/O phase", async (t) => {
  // Two frames written one tick apart: the tick mode has flushed the first by then.
  const writesFor = async (mode: 'tick' | 'immediate') => {
    const r = await rig(t, { coalesce: mode })
    const c = await r.client()
    const counter = countWrites(c.conn)
    c.conn.sendText('{"n":1}')
    process.nextTick(() => c.conn.sendText('{"n":2}'))
    await nextTurn()
    await until(() => c.messages.length === 2, 'both frames')
    t.same(c.messages, [{ n: 1 }, { n: 2 }], `${mode}: in order`)
    return counter.writes
  }
  t.equal(await writesFor('tick'), 2, 'tick: one write per callback')
  t.equal(await writesFor('immediate'), 1, 'immediate: one write for the whole phase')
})

t.test('with coalescing off every frame is its own write', async (t) => {
  const r = await rig(t, { coalesce: 'off' })
  const c = await r.client()
  const counter = countWrites(c.conn)
  for (let i = 0; i < 20; i++) c.conn.sendText(JSON.stringify({ i }))
  t.equal(counter.writes, 20)
  await until(() => c.messages.length === 20, 'all frames')
  t.same(c.messages, Array.from({ length: 20 }, (_, i) => ({ i })))
})

t.test('a peer close read in the same turn as a reply: nothing follows the close frame on the wire', async (t) => {
  const r = await rig(t)
  const c = await r.client()
  // The server answers each message at once; the reply is held for the end of the turn.
  c.conn.ws.on('message', () => c.conn.sendText('{"reply":true}'))
  // Opcodes of the frames the server sends, read off the client's TCP socket (server frames are unmasked).
  const opcodes: number[] = []
  let buf = Buffer.alloc(0)
  const socket = (c.ws as unknown as { _socket: Socket })._socket
  socket.prependListener('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 2) {
      const len7 = buf[1]! & 0x7f
      const head = len7 < 126 ? 2 : len7 === 126 ? 4 : 10
      if (buf.length < head) break
      const len = len7 < 126 ? len7 : len7 === 126 ? buf.readUInt16BE(2) : Number(buf.readBigUInt64BE(2))
      if (buf.length < head + len) break
      opcodes.push(buf[0]! & 0x0f)
      buf = buf.subarray(head + len)
    }
  })
  // A message and a close in one TCP write: the server reads both in one callback.
  socket.cork()
  c.ws.send('{"hello":1}')
  c.ws.close(1000)
  socket.uncork()
  await once(c.ws, 'close')
  const close = opcodes.indexOf(8)
  t.ok(close >= 0, `the server's close frame arrived (${opcodes.join(',')})`)
  t.same(opcodes.slice(close + 1), [], 'no frame after the close frame')
})
