/**
 * Helpers for the IoT tests: users with client keys, devices, ingestion over real HTTP, and a
 * `ws` client that records every message and lets a test wait for the next one matching a
 * predicate (events, never sleeps). `quiet(client)` proves a client received nothing more: it
 * pings and waits for the pong, which the server writes after anything published earlier.
 */
import WebSocket from 'ws'
import { build, bearer, type TapLike, type TestApp } from '../helper.js'

export type Msg = Record<string, any>


/** A listening app with connection limits relaxed unless a test sets them. */
export async function iotApp(t: TapLike, env: Record<string, string> = {}): Promise<TestApp> {
  return build(t, { listen: true, env: { WS_CONNECTIONS_PER_MINUTE: '1000', RATE_LIMIT_MAX: '100000', ...env } })
}

let seq = 0
export async function createUser(ta: TestApp, opts: { admin?: boolean } = {}): Promise<{ id: number; key: string }> {
  const res = await ta.app.inject({
    method: 'POST',
    url: '/api/application/users',
    headers: bearer(ta.adminKey),
    payload: { email: `user${++seq}-${process.pid}@example.test`, root_admin: opts.admin ?? false, with_client_key: true },
  })
  if (res.statusCode !== 201) throw new Error(`user creation failed: ${res.statusCode} ${res.body}`)
  const body = res.json()
  return { id: body.attributes.id, key: body.meta.api_key }
}

export async function api(ta: TestApp, key: string, method: string, url: string, payload?: unknown) {
  const res = await ta.app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload !== undefined ? { payload: payload as object } : {}) })
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Msg) : null }
}

export async function createDevice(ta: TestApp, key: string, body: Msg = {}): Promise<{ id: number; deviceKey: string; attributes: Msg }> {
  const res = await api(ta, key, 'POST', '/api/client/devices', { name: `dev${++seq}`, ...body })
  if (res.status !== 201) throw new Error(`device creation failed: ${res.status} ${JSON.stringify(res.body)}`)
  return { id: res.body!.attributes.id, deviceKey: res.body!.meta.device_key, attributes: res.body!.attributes }
}

/** POSTs readings over real HTTP, as a device would. */
export async function ingest(ta: TestApp, deviceId: number, deviceKey: string, body: unknown): Promise<{ status: number; body: Msg }> {
  const res = await fetch(`${ta.url}/api/devices/${deviceId}/telemetry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${deviceKey}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Msg }
}

export async function channelToken(ta: TestApp, key: string): Promise<string> {
  const res = await api(ta, key, 'GET', '/api/client/websocket')
  if (res.status !== 200) throw new Error(`token failed: ${res.status}`)
  return res.body!.data.token
}

export class Client {
  readonly messages: Msg[] = []
  private cursor = 0
  private waiters: Array<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void; reject: (e: Error) => void }> = []
  readonly closed: Promise<{ code: number; reason: string }>
  readonly opened: Promise<void>

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    this.opened.catch(() => {})
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg
      this.messages.push(m)
      this.flush()
    })
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed while waiting; got ${JSON.stringify(this.messages.slice(this.cursor))}`))
    })
  }

  static async open(ta: TestApp, path = '/ws', origin: string | null = ta.url): Promise<Client> {
    const c = new Client(new WebSocket(`${ta.url.replace('http', 'ws')}${path}`, { headers: origin ? { origin } : {} }))
    await c.opened
    return c
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m))
  }

  /** The next unread message matching `pred` (earlier non-matching ones are skipped). */
  next(pred: (m: Msg) => boolean = () => true): Promise<Msg> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ pred, resolve, reject })
      this.flush()
    })
  }

  nextOf(type: string): Promise<Msg> {
    return this.next((m) => m.type === type)
  }

  /** Sends and waits for the reply of the given type (or an error). */
  async request(m: Msg, replyType: string): Promise<Msg> {
    this.send(m)
    return this.next((r) => r.type === replyType || r.type === 'error')
  }

  /** Resolves with every message received before the pong to a fresh ping. */
  async quiet(): Promise<Msg[]> {
    const mark = `q${++seq}`
    const from = this.messages.length
    this.send({ type: 'ping', timestamp: mark })
    await this.next((m) => m.type === 'pong' && m.timestamp === mark)
    return this.messages.slice(from).filter((m) => !(m.type === 'pong' && m.timestamp === mark))
  }

  close(): void {
    this.ws.close()
  }

  private flush(): void {
    while (this.waiters.length > 0 && this.cursor < this.messages.length) {
      const m = this.messages[this.cursor++]!
      const i = this.waiters.findIndex((w) => w.pred(m))
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m)
    }
  }
}

/** An authenticated channel socket of the user with `key`. */
export async function authed(ta: TestApp, key: string, path = '/ws'): Promise<Client> {
  const token = await channelToken(ta, key)
  const c = await Client.open(ta, path)
  const r = await c.request({ type: 'auth', token }, 'auth_response')
  if (!r.success) throw new Error(`auth failed: ${JSON.stringify(r)}`)
  c.ws.on('error', () => {})
  return c
}
