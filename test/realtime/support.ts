/**
 * A hub on a plain ws server on an ephemeral port, with real ws clients: the rig for the hub's
 * and the brokers' tests (no Fastify, so what is measured is the hub alone).
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import WebSocket, { WebSocketServer } from 'ws'
import { Hub } from '../../src/modules/realtime/hub.js'
import { HubSocket } from '../../src/modules/realtime/hub-socket.js'
import type { Broker } from '../../src/modules/realtime/broker.js'
import type { Connection } from '../../src/modules/realtime/connection.js'
import type { WriteCoalescing } from '../../src/modules/realtime/write-coalescing.js'

export interface Rig {
  hub: Hub
  url: string
  /** Resolves with the server-side connection of the next client that connects. */
  nextConn(): Promise<Connection>
  client(): Promise<{ ws: WebSocket; conn: Connection; messages: unknown[] }>
}

export async function rig(
  t: { teardown(fn: () => unknown): void },
  opts: { soft?: number; hard?: number; pingMs?: number; broker?: Broker; deflate?: boolean; coalesce?: WriteCoalescing } = {},
): Promise<Rig> {
  const server: Server = createServer()
  // With deflate, messages of 256 bytes and more are compressed (asynchronously), smaller ones not.
  const wss = new WebSocketServer({ server, perMessageDeflate: opts.deflate ? { threshold: 256 } : false, WebSocket: HubSocket })
  const hub = new Hub({
    ...(opts.broker ? { broker: opts.broker } : {}),
    log: pino({ level: 'silent' }),
    limits: { softLimitBytes: opts.soft ?? 64 * 1024, hardLimitBytes: opts.hard ?? 1024 * 1024, coalesceWrites: opts.coalesce ?? 'tick' },
    pingIntervalMs: opts.pingMs ?? 60_000,
  })
  hub.registerCodec('json', { encode: (p) => JSON.stringify(p) })
  hub.registerCodec('pick', {
    encode: (p, variant) => {
      const src = p as Record<string, unknown>
      if (!variant) return JSON.stringify(src)
      const out: Record<string, unknown> = {}
      for (const k of variant.split(',')) if (k in src) out[k] = src[k]
      return Object.keys(out).length ? JSON.stringify(out) : null
    },
  })
  const waiting: Array<(c: Connection) => void> = []
  wss.on('connection', (ws) => {
    const conn = hub.connect(ws, 'test', {})
    conn.collapsedNotice = (count) => JSON.stringify({ type: 'collapsed', count })
    waiting.shift()?.(conn)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(async () => {
    await hub.close()
    for (const c of wss.clients) c.terminate()
    wss.close()
    server.close()
  })
  const nextConn = () => new Promise<Connection>((resolve) => waiting.push(resolve))
  return {
    hub,
    url,
    nextConn,
    async client() {
      const connP = nextConn()
      const ws = new WebSocket(url, { perMessageDeflate: !!opts.deflate })
      const messages: unknown[] = []
      ws.on('message', (d) => messages.push(JSON.parse(d.toString())))
      await once(ws, 'open')
      const conn = await connP
      t.teardown(() => ws.terminate())
      return { ws, conn, messages }
    },
  }
}

