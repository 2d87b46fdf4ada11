/**
 * Baseline A: the practical limit of Node + ws. A bare `ws` server that speaks the channel
 * protocol's auth/subscribe messages without doing any real work for them, indexes topics
 * (topic → set of sockets), and sends one prepared string to every subscriber of a topic.
 * Publications arrive over `POST /publish` ({device_id, value, ts}). Usage: bare-ws.ts <port>
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { telemetryText } from '../lib/protocol.js'
import { deviceIdsOf, health, readJson, targetPort, valuesOf, type PublishBody } from './common.js'

const port = targetPort()
const topics = new Map<number, Set<WebSocket>>()

const server = createServer(async (req, res) => {
  if (health(req, res)) return
  if (req.method !== 'POST' || req.url !== '/publish') return void res.writeHead(404).end()
  const body = await readJson<PublishBody>(req, res)
  if (!body) return
  const subs = topics.get(body.device_id)
  let n = 0
  if (subs) {
    // A batch is one message per value, each sent to every subscriber as it is prepared.
    for (const value of valuesOf(body)) {
      const text = telemetryText(body.device_id, value, body.ts)
      for (const ws of subs) {
        ws.send(text)
        n++
      }
    }
  }
  res.writeHead(202, { 'content-type': 'application/json' }).end(`{"delivered":${n}}`)
})

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, maxPayload: 65536 })
wss.on('connection', (ws) => {
  const mine: Array<Set<WebSocket>> = []
  ws.on('message', (data) => {
    let msg: { type?: string; device_id?: unknown }
    try {
      msg = JSON.parse(String(data)) as typeof msg
    } catch {
      return
    }
    if (msg.type === 'auth') ws.send('{"type":"auth_response","success":true}')
    else if (msg.type === 'subscribe') {
      const ids = deviceIdsOf(msg)
      if (ids.length === 0) return
      for (const id of ids) {
        let set = topics.get(id)
        if (!set) topics.set(id, (set = new Set()))
        set.add(ws)
        mine.push(set)
      }
      ws.send(JSON.stringify({ type: 'subscribed', channel: 'telemetry', device_id: msg.device_id }))
    }
  })
  ws.on('close', () => {
    for (const set of mine) set.delete(ws)
  })
})

server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
