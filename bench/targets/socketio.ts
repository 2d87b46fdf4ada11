/**
 * Baseline B: what most Node users would pick. A Socket.IO 4.8 server (websocket transport
 * only), a token check in a handshake middleware, one room per device topic, and
 * `io.to(room).emit(...)` for each publication arriving over `POST /publish`.
 * Usage: socketio.ts <port>
 */
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { METRIC } from '../lib/protocol.js'
import { deviceIdsOf, health, readJson, targetPort, valuesOf, type PublishBody } from './common.js'

const port = targetPort()

const server = createServer(async (req, res) => {
  if (req.url?.startsWith('/socket.io')) return // handled by engine.io
  if (health(req, res)) return
  if (req.method !== 'POST' || req.url !== '/publish') return void res.writeHead(404).end()
  const body = await readJson<PublishBody>(req, res)
  if (!body) return
  const room = `telemetry:${body.device_id}`
  for (const value of valuesOf(body)) {
    io.to(room).emit('telemetry_update', {
      type: 'telemetry_update',
      channel: 'telemetry',
      device_id: body.device_id,
      telemetry: { [METRIC]: { value, unit: 'ms', timestamp: body.ts } },
    })
  }
  res.writeHead(202, { 'content-type': 'application/json' }).end('{}')
})

const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 65536 })
io.use((socket, next) => {
  const auth = socket.handshake.auth as { token?: unknown }
  if (typeof auth.token === 'string' && auth.token.length > 0) next()
  else next(new Error('unauthenticated'))
})
io.on('connection', (socket) => {
  socket.on('subscribe', (msg: { channel?: string; device_id?: unknown }, ack?: (r: unknown) => void) => {
    const ids = deviceIdsOf(msg ?? {})
    if (ids.length === 0) return
    void socket.join(ids.map((id) => `telemetry:${id}`))
    ack?.({ type: 'subscribed', channel: 'telemetry', device_id: msg.device_id })
  })
})

server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
