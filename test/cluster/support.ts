/**
 * Helpers for the multi-instance tests: a private redis-server the test can kill and restart on
 * the same port, wirehub instances sharing one database (in-process through `build()`, or a real
 * child process that a SIGKILL really kills), HTTP and channel sockets over real ports only (so
 * the same calls work on either kind of instance), a telemetry stream, and polling with a
 * deadline instead of sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import WebSocket from 'ws'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, type TapLike as BaseTapLike } from '../helper.js'
import { freePort, sleep, until } from '../wait.js'
import { Client, type Msg } from '../channels/support.js'
import { started, startServer, type ServerProcess } from '../embedded/process-support.js'

/** A test that can also print a comment. */
export type TapLike = BaseTapLike & { comment(...args: unknown[]): void }

/** The shared Redis the suite runs against (tests isolate themselves with REDIS_PREFIX). */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** The helper's SOCKET_TOKEN_SECRET: every instance of one cluster must share it. */
export const TOKEN_SECRET = 'test-secret-test-secret-test-secret-0123456789'


/** A REDIS_PREFIX no other test file uses. */
export function uniquePrefix(tag: string): string {
  return `wht-${tag}-${process.pid}-${randomBytes(3).toString('hex')}:`
}

/**
 * A redis-server of the test's own on a free port, without persistence (a restart comes back
 * empty, as a crashed cache would), killed at teardown.
 */
export class TestRedis {
  private child: ChildProcess | null = null
  private readonly probe: Redis

  private constructor(readonly port: number) {
    this.probe = new Redis(this.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true })
    this.probe.on('error', () => {})
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async start(t: TapLike): Promise<TestRedis> {
    const r = new TestRedis(await freePort())
    t.teardown(async () => {
      r.probe.disconnect()
      await r.stop()
    })
    await r.restart()
    return r
  }

  /** Starts (again) on the same port and resolves once it answers PING. */
  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    this.child = child
    let exited = false
    child.once('exit', () => (exited = true))
    if (this.probe.status === 'wait') void this.probe.connect().catch(() => {})
    await until(async () => {
      if (exited) throw new Error(`redis-server on port ${this.port} exited at start`)
      return (await this.probe.ping().catch(() => null)) === 'PONG'
    }, `redis-server on port ${this.port}`)
  }

  /** SIGKILL: no goodbye to clients, no data kept. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = null
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    await once(child, 'exit')
  }

  /** A command connection for inspecting keys and channels. */
  client(): Redis {
    return this.probe
  }
}

/** What the tests need of an instance: its base URL (both kinds listen on a real port). */
export interface Instance {
  url: string
}

/** Environment shared by every instance of a test cluster. */
export function clusterEnv(DATABASE_URL: string, extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL,
    ALLOWED_ORIGINS: '*',
    WS_CONNECTIONS_PER_MINUTE: '1000',
    RATE_LIMIT_MAX: '100000',
    DEMO_SERVER: 'false',
    ...extra,
  }
}

export interface ChildInstance extends Instance {
  proc: ServerProcess
}

/** `node --import tsx src/server.ts` with `env` on a free port; killed at teardown. */
export async function startChild(t: TapLike, env: Record<string, string>): Promise<ChildInstance> {
  const root = mkdtempSync(join(tmpdir(), 'wirehub-cluster-'))
  const proc = startServer(
    {
      PORT: '0',
      DATA_DIR: join(root, 'data'),
      LOG_LEVEL: 'info',
      SOCKET_TOKEN_SECRET: TOKEN_SECRET,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      ADMIN_API_KEY,
      ...env,
    },
    root,
  )
  t.teardown(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL')
      await proc.exited
    }
    rmSync(root, { recursive: true, force: true })
  })
  const { url } = await started(proc)
  return { url, proc }
}

/** A request over real HTTP; `key` goes in as a Bearer token. */
export async function http(inst: Instance, key: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: Msg | null; text: string }> {
  const res = await fetch(`${inst.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await res.text()
  let parsed: Msg | null = null
  try {
    parsed = text ? (JSON.parse(text) as Msg) : null
  } catch {
    parsed = null
  }
  return { status: res.status, body: parsed, text }
}

export interface ChannelOpen {
  client: Client
  auth: Msg
}

/**
 * Opens a channel socket on `inst` with a token fetched from that instance's credential endpoint
 * and sends `auth`; the socket is left open whether or not auth succeeded (the caller decides).
 */
export async function openChannel(inst: Instance, key: string): Promise<ChannelOpen> {
  const cred = await http(inst, key, 'GET', '/api/client/websocket')
  if (cred.status !== 200) throw new Error(`credential failed on ${inst.url}: ${cred.status} ${cred.text}`)
  const ws = new WebSocket(`${inst.url.replace(/^http/, 'ws')}/ws`, { headers: { origin: inst.url } })
  // A killed instance resets the connection: that must not become an uncaught 'error' event.
  ws.on('error', () => {})
  const client = new Client(ws)
  await client.opened
  const auth = await client.request({ type: 'auth', token: cred.body!.data.token as string }, 'auth_response')
  return { client, auth }
}

/** An authenticated channel socket, subscribed to telemetry (`metrics`) and alerts of `deviceId`. */
export async function subscriber(t: TapLike, inst: Instance, key: string, deviceId: number, metrics: string[]): Promise<Client> {
  const { client, auth } = await openChannel(inst, key)
  t.teardown(() => client.ws.terminate())
  if (auth.success !== true) throw new Error(`auth refused: ${JSON.stringify(auth)}`)
  await subscribe(client, deviceId, metrics)
  return client
}

export async function subscribe(client: Client, deviceId: number, metrics: string[]): Promise<void> {
  const tel = await client.request({ type: 'subscribe', channel: 'telemetry', device_id: deviceId, filters: { metrics } }, 'subscribed')
  const al = await client.request({ type: 'subscribe', channel: 'alerts', device_id: deviceId }, 'subscribed')
  if (tel.type !== 'subscribed' || al.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify([tel, al])}`)
}

/** Values of `metric` in the telemetry updates a client received, in arrival order. */
export function values(client: Client, metric: string, deviceId?: number): number[] {
  return client.messages
    .filter((m) => m.type === 'telemetry_update' && m.telemetry?.[metric] && (deviceId === undefined || m.device_id === deviceId))
    .map((m) => m.telemetry[metric].value as number)
}

/** Alert ids a client received on its socket, in arrival order. */
export function alertIds(client: Client): number[] {
  return client.messages.filter((m) => m.type === 'alert').map((m) => m.alert_id as number)
}

/** Problems with a run of sequence numbers that should be contiguous and unique (empty: none). */
export function gaps(seq: number[]): string[] {
  const out: string[] = []
  for (let i = 1; i < seq.length; i++) {
    if (seq[i] !== seq[i - 1]! + 1) out.push(`${seq[i - 1]} then ${seq[i]}`)
  }
  return out
}

/**
 * Posts readings `{ [metric]: n }` with n = 1, 2, 3 … through one instance's ingestion endpoint,
 * one request at a time, until stopped; remembers any status other than 201.
 */
export class TelemetryStream {
  last = 0
  readonly failures: string[] = []
  private running = true
  private readonly done: Promise<void>

  constructor(
    private readonly inst: Instance,
    private readonly deviceId: number,
    private readonly deviceKey: string,
    private readonly metric: string,
    pauseMs = 15,
  ) {
    this.done = (async () => {
      while (this.running) {
        const n = this.last + 1
        try {
          const res = await http(this.inst, this.deviceKey, 'POST', `/api/devices/${this.deviceId}/telemetry`, { telemetry: { [this.metric]: { value: n } } })
          if (res.status !== 201) this.failures.push(`#${n}: ${res.status} ${res.text}`)
        } catch (err) {
          this.failures.push(`#${n}: ${(err as Error).message}`)
        }
        this.last = n
        await sleep(pauseMs)
      }
    })()
  }

  async stop(): Promise<number> {
    this.running = false
    await this.done
    return this.last
  }
}

/** Records unhandled rejections in this process for the duration of the test. */
export function trackRejections(t: TapLike): unknown[] {
  const seen: unknown[] = []
  const fn = (reason: unknown) => seen.push(reason)
  process.on('unhandledRejection', fn)
  t.teardown(() => void process.off('unhandledRejection', fn))
  return seen
}

/** The value of a metric without labels in a Prometheus text exposition (undefined: absent). */
export function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}
