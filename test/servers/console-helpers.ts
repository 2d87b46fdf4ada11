/**
 * Shared helpers of the servers tests: an app on a real port with a client user, servers that
 * run the demo script, and a console client on a real `ws` socket that waits on events.
 */
import { WebSocket } from 'ws'
import { bearer, build, type TestApp, type TapLike } from '../helper.js'
import { KEY_TYPE_CLIENT } from '../../src/modules/auth/api-key.format.js'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'


export interface Frame {
  event: string
  args?: string[]
}

export interface ConsoleEnv extends TestApp {
  admin: { id: number; uuid: string; clientKey: string }
  /** Creates a user with a client key. */
  user(email: string): Promise<{ id: number; uuid: string; email: string; key: string }>
  /** Creates a demo server (Application API) and returns its attributes. */
  server(body?: Record<string, unknown>): Promise<{ id: number; uuid: string; identifier: string }>
  get(path: string, key: string): Promise<{ status: number; body: any }>
  post(path: string, key: string, payload?: unknown): Promise<{ status: number; body: any }>
  credentials(uuid: string, key: string): Promise<{ token: string; socket: string }>
  open(socketUrl: string, origin?: string | null): Promise<ConsoleClient>
  /** Credentials + open + auth, waiting for `auth success` and the first `status`. */
  connect(uuid: string, key: string): Promise<{ client: ConsoleClient; status: string; token: string }>
}

export async function setup(t: TapLike, env: Record<string, string> = {}): Promise<ConsoleEnv> {
  const ctx = await build(t, { listen: true, env: { STATS_INTERVAL_MS: '200', STOP_TIMEOUT: '5', ...env } })
  const { app, url, adminKey } = ctx
  const adminRow = await app.prisma.user.findFirstOrThrow({ where: { rootAdmin: true } })
  const { key: adminClientKey } = await app.apiKeys.create(adminRow, KEY_TYPE_CLIENT, { description: 'test' })
  const clients: ConsoleClient[] = []
  t.teardown(() => {
    for (const c of clients) c.ws.terminate()
  })

  async function request(method: string, path: string, key: string, payload?: unknown) {
    const res = await app.inject({ method: method as 'GET', url: path, headers: bearer(key), ...(payload !== undefined ? { payload: payload as object } : {}) })
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null }
  }

  const env_: ConsoleEnv = {
    ...ctx,
    admin: { id: adminRow.id, uuid: adminRow.uuid, clientKey: adminClientKey },
    async user(email) {
      const res = await request('POST', '/api/application/users', adminKey, { email, password: 'a long enough password', with_client_key: true })
      if (res.status !== 201) throw new Error(`user create failed: ${JSON.stringify(res.body)}`)
      return { id: res.body.attributes.id, uuid: res.body.attributes.uuid, email, key: res.body.meta.api_key }
    },
    async server(body = {}) {
      const res = await request('POST', '/api/application/servers', adminKey, {
        name: 'test server',
        user: adminRow.id,
        command: process.execPath,
        args: [DEMO_SERVER_SCRIPT],
        done_pattern: '\\]: Done \\(',
        environment: { DEMO_BOOT_MS: '50', DEMO_TICK_MS: '0' },
        ...body,
      })
      if (res.status !== 201) throw new Error(`server create failed: ${JSON.stringify(res.body)}`)
      return res.body.attributes
    },
    get: (path, key) => request('GET', path, key),
    post: (path, key, payload) => request('POST', path, key, payload ?? {}),
    async credentials(uuid, key) {
      const res = await request('GET', `/api/client/servers/${uuid}/websocket`, key)
      if (res.status !== 200) throw new Error(`credentials failed: ${res.status} ${JSON.stringify(res.body)}`)
      return res.body.data
    },
    async open(socketUrl, origin = url) {
      const ws = new WebSocket(socketUrl, origin === null ? {} : { headers: { origin } })
      const client = new ConsoleClient(ws)
      clients.push(client)
      await client.opened
      return client
    },
    async connect(uuid, key) {
      const { token, socket } = await env_.credentials(uuid, key)
      const client = await env_.open(socket)
      client.send('auth', token)
      await client.next('auth success')
      const status = await client.next('status')
      // Wings sends one stats right after the status of an offline server: consume it here.
      if (status.args![0] === 'offline') await client.next('stats')
      return { client, status: status.args![0]!, token }
    },
  }
  return env_
}

/** A console socket that records every frame and lets a test wait for the next matching one. */
export class ConsoleClient {
  readonly frames: Frame[] = []
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>
  private cursor = 0
  private waiters: Array<() => void> = []

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })))
      ws.once('error', reject)
    })
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() })
      this.wake()
    }))
    this.closed.catch(() => {})
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame)
      this.wake()
    })
  }

  send(event: string, ...args: unknown[]): void {
    this.ws.send(JSON.stringify({ event, args }))
  }

  /** Closes the socket and waits until it is closed. */
  async end(): Promise<void> {
    this.ws.close()
    await this.closed
  }

  raw(data: string | Buffer): void {
    this.ws.send(data)
  }

  /** The next frame (after the previous match) with this event and predicate. */
  async next(event: string, pred: (f: Frame) => boolean = () => true, timeoutMs = 15_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (this.cursor < this.frames.length) {
        const f = this.frames[this.cursor++]!
        if (f.event === event && pred(f)) return f
      }
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${event}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${event}; got ${JSON.stringify(this.frames.filter((f) => f.event !== "stats").slice(-40).map((f) => `${f.event}: ${(f.args?.[0] ?? '').slice(0, 90)}`))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits for a console line containing `text`. */
  line(text: string | RegExp, timeoutMs?: number): Promise<Frame> {
    return this.next('console output', (f) => (typeof text === 'string' ? f.args![0]!.includes(text) : text.test(f.args![0]!)), timeoutMs)
  }

  status(state: string, timeoutMs?: number): Promise<Frame> {
    return this.next('status', (f) => f.args![0] === state, timeoutMs)
  }

  /** Frames received after the last match, without consuming them. */
  since(): Frame[] {
    return this.frames.slice(this.cursor)
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}
