/**
 * Served sockets hand message, ping, pong and close to their connection without listeners
 * (HubSocket); listeners added the usual way still run, and a socket from a plain ws server
 * (not a HubSocket) gets the same behaviour through ordinary listeners.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { Hub } from '../../src/modules/realtime/hub.js'
import { HubSocket } from '../../src/modules/realtime/hub-socket.js'
import type { Connection, ConnectionInbound } from '../../src/modules/realtime/connection.js'
import { until } from '../wait.js'

async function serve(t: { teardown(fn: () => unknown): void }, plain: boolean) {
  const server = createServer()
  const wss = new WebSocketServer(plain ? { server } : { server, WebSocket: HubSocket, clientTracking: false })
  const hub = new Hub({ log: pino({ level: 'silent' }), limits: { softLimitBytes: 65536, hardLimitBytes: 1 << 20 }, pingIntervalMs: 60_000 })
  const seen: string[] = []
  const inbound: ConnectionInbound = {
    frame: (data, isBinary) => void seen.push(`frame ${String(data)} ${isBinary}`),
    ping: () => void seen.push('ping'),
    ended: (code) => void seen.push(`ended ${code}`),
  }
  const conns: Array<{ conn: Connection; ws: WebSocket }> = []
  wss.on('connection', (ws) => {
    const conn = hub.connect(ws, 'test', {})
    conn.inbound = inbound
    conns.push({ conn, ws })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    await hub.close()
    wss.close()
    server.close()
  })
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)
  await once(client, 'open')
  const { conn, ws } = await until(() => conns[0], 'the server side')
  return { hub, client, conn, ws, seen }
}

for (const plain of [false, true]) {
  t.test(plain ? 'a plain ws socket gets its events through listeners' : 'a served socket gets its events without listeners', async (t) => {
    const { hub, client, conn, ws, seen } = await serve(t, plain)
    t.equal(ws instanceof HubSocket, !plain)
    if (!plain) {
      for (const event of ['message', 'ping', 'pong', 'close']) t.equal(ws.listenerCount(event), 0, `no ${event} listener`)
    }
    // A listener added the usual way runs too, after the connection.
    const extra: string[] = []
    ws.on('message', (data) => extra.push(`${seen.length} ${String(data)}`))

    client.send('hello')
    client.ping()
    await until(() => seen.length >= 2, 'frame and ping')
    t.same(seen, ['frame hello false', 'ping'])
    t.same(extra, ['1 hello'], 'the extra listener ran once the connection had the frame')

    conn.alive = false
    ws.ping()
    await until(() => conn.alive, 'the pong marks the peer alive')

    client.close(4321)
    await until(() => seen.length === 3, 'close')
    t.equal(seen[2], 'ended 4321', 'the close code reaches the inbound side once')
    t.ok(conn.closed)
    t.equal(hub.connections.size, 0, 'the hub let go of the connection')
  })
}

t.test('an upgrade completing during shutdown is closed like the others', async (t) => {
  const { hub, client } = await serve(t, false)
  const closed = once(client, 'close')
  await hub.close()
  const [code] = (await closed) as [number]
  t.equal(code, 1012)
  const server = createServer()
  const wss = new WebSocketServer({ server, WebSocket: HubSocket })
  wss.on('connection', (ws) => hub.connect(ws, 'late', {}))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    wss.close()
    server.close()
  })
  const late = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)
  const [lateCode] = (await once(late, 'close')) as [number]
  t.equal(lateCode, 1012, 'a socket adopted after the hub closed gets 1012 at once')
})
