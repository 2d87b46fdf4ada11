/**
 * Diagnostic target: wirehub's own Hub (src/modules/realtime) behind the same trivial
 * auth/subscribe protocol and `POST /publish` endpoint as the bare-ws baseline — fan-out cost of
 * the hub alone (prepared frames, lanes, counters) without Fastify, tokens or ingestion.
 * Usage: hub-only.ts <port>
 */
import { createServer } from 'node:http'
import pino from 'pino'
import { WebSocketServer } from 'ws'
import { Hub } from '../../src/modules/realtime/hub.js'
import { HubSocket } from '../../src/modules/realtime/hub-socket.js'
import type { Connection } from '../../src/modules/realtime/connection.js'
import type { WriteCoalescing } from '../../src/modules/realtime/write-coalescing.js'
import { METRIC, telemetryText } from '../lib/protocol.js'
import { deviceIdsOf, health, readJson, targetPort, valuesOf, type PublishBody } from './common.js'

const port = targetPort()
// WS_COALESCE_WRITES (tick, immediate, off) in the harness's environment applies here and in wirehub.
const coalesceWrites = (process.env.WS_COALESCE_WRITES ?? 'tick') as WriteCoalescing
const hub = new Hub({ log: pino({ level: 'warn' }), limits: { softLimitBytes: 65536, hardLimitBytes: 1048576, coalesceWrites }, pingIntervalMs: 25_000 })
interface One {
  device_id: number
  value: number
  ts: string
}
hub.registerCodec('telemetry', { encode: (p) => {
  const b = p as One
  return telemetryText(b.device_id, b.value, b.ts)
} })

const server = createServer(async (req, res) => {
  if (health(req, res)) return
  if (req.method !== 'POST' || req.url !== '/publish') return void res.writeHead(404).end()
  const body = await readJson<PublishBody>(req, res)
  if (!body) return
  // One publication per value, as wirehub's ingestion publishes one per reading.
  const topics = [`telemetry:${body.device_id}`]
  for (const value of valuesOf(body)) hub.publish({ topics, codec: 'telemetry', payload: { device_id: body.device_id, value, ts: body.ts }, lane: 'droppable', collapseKey: METRIC })
  res.writeHead(202, { 'content-type': 'application/json' }).end('{}')
})

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, maxPayload: 65536, WebSocket: HubSocket })
wss.on('connection', (ws) => {
  const conn: Connection = hub.connect(ws, 'channel', {})
  conn.collapsedNotice = (count) => JSON.stringify({ type: 'collapsed', count })
  ws.on('message', (data) => {
    let msg: { type?: string; device_id?: unknown }
    try {
      msg = JSON.parse(String(data)) as typeof msg
    } catch {
      return
    }
    if (msg.type === 'auth') conn.sendText('{"type":"auth_response","success":true}')
    else if (msg.type === 'subscribe') {
      const ids = deviceIdsOf(msg)
      if (ids.length === 0) return
      for (const id of ids) hub.subscribe(conn, `telemetry:${id}`)
      conn.sendText(JSON.stringify({ type: 'subscribed', channel: 'telemetry', device_id: msg.device_id }))
    }
  })
})

server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
