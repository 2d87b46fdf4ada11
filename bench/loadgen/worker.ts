/**
 * Load generator worker process (forked by the controller). Opens its share of the N
 * connections from several 127.0.0.x source addresses, authenticates each one (wirehub: a socket
 * token fetched from `GET /api/client/websocket`, then `{"type":"auth"}`; Socket.IO: handshake
 * auth), subscribes it to telemetry of one device, then records the delivery latency of every
 * telemetry message into an HDR histogram and counts messages per measurement step.
 */
import type { Socket } from 'node:net'
import { Pool } from 'undici'
import WebSocket from 'ws'
import { io, type Socket as IoSocket } from 'socket.io-client'
import { encodeHist, newHist } from '../lib/hist.js'
import { watchParent } from '../lib/proc.js'
import { readStamp, sinceStamp, STEP_SCALE, type TargetConn, type WorkerCommand, type WorkerEvent } from '../lib/protocol.js'

watchParent()

interface Client {
  device: number
  /** Every device it subscribes to (one, or all of them in the wide scenario). */
  follows: number | number[]
  paused: boolean
  /** Set by closeAll: this socket's close is ours, not a server-side close to report. */
  closing?: boolean
  ws?: WebSocket
  sio?: IoSocket
}

const clients: Client[] = []
let firstIndex = 0
let step = -1
let received = 0
let stale = 0
let other = 0
let closed = 0
let pausedReceived = 0
let hist = newHist()

const send = (e: WorkerEvent) => process.send!(e)
/** Set while connectAll waits for the harness's `go`. */
let go: (() => void) | null = null

function record(c: Client, v: number): void {
  if (c.paused) {
    pausedReceived++
    return
  }
  if (Number.isNaN(v)) {
    other++
    return
  }
  const s = Math.floor(v / STEP_SCALE)
  if (s !== step) {
    stale++
    return
  }
  const us = Math.round(sinceStamp(v, s) * 1000)
  hist.recordValue(us > 0 ? us : 1)
  received++
}

async function fetchTokens(target: TargetConn, count: number): Promise<{ tokens: string[]; failed: number }> {
  if (!target.clientKey) return { tokens: new Array<string>(count).fill('bench'), failed: 0 }
  const pool = new Pool(target.httpUrl, { connections: 16 })
  const tokens: string[] = []
  let failed = 0
  let next = 0
  const one = async () => {
    while (next < count) {
      next++
      try {
        const r = await pool.request({ method: 'GET', path: '/api/client/websocket', headers: { authorization: `Bearer ${target.clientKey}`, accept: 'application/json' } })
        const body = (await r.body.json()) as { data?: { token?: string } }
        if (r.statusCode === 200 && body.data?.token) tokens.push(body.data.token)
        else failed++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, one))
  await pool.close()
  return { tokens, failed }
}

const CONNECT_TIMEOUT_MS = 15_000

/** Opens, authenticates and subscribes one ws client; resolves when `subscribed` arrives. */
function openWs(target: TargetConn, c: Client, token: string, localAddress: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, { perMessageDeflate: false, localAddress, handshakeTimeout: CONNECT_TIMEOUT_MS })
    c.ws = ws
    let phase: 'auth' | 'subscribe' | 'ready' = 'auth'
    const timer = setTimeout(() => fail(new Error(`timeout in ${phase}`)), CONNECT_TIMEOUT_MS)
    const fail = (e: Error) => {
      clearTimeout(timer)
      ws.terminate()
      reject(e)
    }
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })))
    ws.on('message', (data: Buffer) => {
      if (phase === 'ready') return record(c, readStamp(data))
      let msg: { type?: string; success?: boolean; message?: string; error?: string }
      try {
        msg = JSON.parse(data.toString('utf8')) as typeof msg
      } catch {
        return fail(new Error('non-JSON reply during setup'))
      }
      if (phase === 'auth' && msg.type === 'auth_response') {
        if (!msg.success) return fail(new Error(`auth refused: ${msg.error ?? msg.message ?? ''}`))
        phase = 'subscribe'
        ws.send(JSON.stringify({ type: 'subscribe', channel: 'telemetry', device_id: c.follows }))
      } else if (phase === 'subscribe' && msg.type === 'subscribed') {
        phase = 'ready'
        clearTimeout(timer)
        resolve()
      } else if (msg.type === 'error') {
        fail(new Error(`error during ${phase}: ${JSON.stringify(msg).slice(0, 200)}`))
      }
    })
    ws.on('error', (e) => fail(e))
    ws.on('close', (code) => {
      if (c.closing) return
      if (phase === 'ready') closed++
      else fail(new Error(`closed ${code} during ${phase}`))
    })
  })
}

function openSio(target: TargetConn, c: Client, token: string, localAddress: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // localAddress is passed through to engine.io-client's ws transport but is not in its typings.
    const opts = { transports: ['websocket'], forceNew: true, multiplex: false, reconnection: false, timeout: CONNECT_TIMEOUT_MS, auth: { token }, localAddress } as Parameters<typeof io>[1]
    const s = io(target.url, opts)
    c.sio = s
    let ready = false
    s.on('telemetry_update', (m: { telemetry?: Record<string, { value?: number }> }) => {
      const v = m.telemetry?.lat?.value
      record(c, typeof v === 'number' ? v : NaN)
    })
    s.on('connect_error', (e) => {
      s.disconnect()
      reject(e)
    })
    s.on('disconnect', () => {
      if (ready && !c.closing) closed++
    })
    s.on('connect', () => {
      s.timeout(CONNECT_TIMEOUT_MS).emit('subscribe', { channel: 'telemetry', device_id: c.follows }, (err: Error | null) => {
        if (err) {
          s.disconnect()
          return reject(err)
        }
        ready = true
        resolve()
      })
    })
  })
}

async function connectAll(m: Extract<WorkerCommand, { cmd: 'connect' }>): Promise<void> {
  firstIndex = m.firstIndex
  const t0 = performance.now()
  const { tokens, failed: tokenFailed } = await fetchTokens(m.target, m.count)
  send({ ev: 'tokens', ms: performance.now() - t0, failed: tokenFailed })
  if (m.waitForGo) await new Promise<void>((resolve) => (go = resolve))
  const errors: string[] = []
  let ok = 0
  let failed = tokenFailed
  let next = 0
  const t1 = performance.now()
  const lane = async () => {
    while (next < tokens.length) {
      const i = next++
      const global = m.firstIndex + i
      const device = m.devices[global % m.devices.length]!
      const c: Client = { device, follows: m.follow === 'all' ? m.devices : device, paused: false }
      clients.push(c)
      const addr = m.localAddresses[global % m.localAddresses.length]!
      try {
        if (m.target.kind === 'ws') await openWs(m.target, c, tokens[i]!, addr)
        else await openSio(m.target, c, tokens[i]!, addr)
        ok++
      } catch (e) {
        failed++
        if (errors.length < 5) errors.push((e as Error).message)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(m.concurrency, m.count) }, lane))
  send({ ev: 'connected', ok, failed, ms: performance.now() - t1, errors })
}

function closeAll(): void {
  for (const c of clients) {
    c.closing = true
    c.ws?.terminate()
    c.sio?.disconnect()
  }
  clients.length = 0
  closed = 0
}

process.on('message', (m: WorkerCommand) => {
  switch (m.cmd) {
    case 'connect':
      void connectAll(m)
      break
    case 'go':
      go?.()
      go = null
      break
    case 'reset':
      step = m.step
      received = stale = other = pausedReceived = 0
      hist.destroy()
      hist = newHist()
      send({ ev: 'reset' })
      break
    case 'collect':
      send({ ev: 'collected', received, stale, other, closed, pausedReceived, hist: encodeHist(hist) })
      break
    case 'pause': {
      const c = clients[m.index - firstIndex]
      if (c) {
        c.paused = true
        const raw = c.ws ? (c.ws as unknown as { _socket?: Socket })._socket : undefined
        raw?.pause()
      }
      send({ ev: 'paused', device: c?.device ?? -1 })
      break
    }
    case 'close':
      closeAll()
      send({ ev: 'closed' })
      break
  }
})
