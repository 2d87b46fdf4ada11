/**
 * Starting and stopping the benchmark targets, each a separate server process:
 * `bare-ws` and `socketio` (baselines), `hub` (wirehub's Hub alone, diagnostic), `bare-fastify`
 * (credential baseline) and `wirehub` itself (`node --import tsx src/server.ts` on a fresh
 * PostgreSQL database created for the run, with a client key and devices bootstrapped through
 * the real API).
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { request } from 'undici'
import { freePort, spawnServer, stop, waitPort } from './proc.js'
import type { PublishDevice, TargetConn } from './protocol.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TARGETS_DIR = fileURLToPath(new URL('../targets/', import.meta.url))
const WATCHDOG = fileURLToPath(new URL('./parent-watchdog.ts', import.meta.url))
const PROBE = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url))

export type TargetName = 'bare-ws' | 'socketio' | 'hub' | 'wirehub' | 'bare-fastify'

export interface Target {
  name: TargetName
  proc: ChildProcess
  pid: number
  port: number
  conn: TargetConn
  publishMode: 'baseline' | 'wirehub'
  httpUrl: string
  /** The first `d` devices that clients subscribe to and the publisher publishes for. */
  devices(d: number): PublishDevice[]
}

export interface WirehubContext {
  databaseUrl: string
  dbName: string
  dataDir: string
  env: NodeJS.ProcessEnv
  adminKey: string
  clientKey: string
  devices: PublishDevice[]
  /**
   * First value of every id sequence (users, keys, devices …) when set: ids unique to the run, so
   * the run's Redis pub/sub topics (`telemetry:<device>`, `telemetry:u:<user>`) and relayed
   * events (`user.deleted` of id N) cannot meet those of another wirehub on the same Redis.
   */
  idBase?: number
}

const ROOT_DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbUrl = (name: string) => {
  const u = new URL(ROOT_DB_URL)
  u.pathname = `/${name}`
  return u.toString()
}

async function withRoot<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ROOT_DB_URL })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  return Array.from(randomBytes(n), (b) => chars[b % chars.length]).join('')
}

/** Wirehub's environment for the benchmark: limits raised so only capacity limits the run. */
function wirehubEnv(databaseUrl: string, dataDir: string, adminKey: string): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    SOCKET_TOKEN_SECRET: alnum(48),
    SOCKET_TOKEN_TTL: '3600',
    ADMIN_EMAIL: 'bench@example.test',
    ADMIN_PASSWORD: 'bench password long enough',
    ADMIN_API_KEY: adminKey,
    ALLOWED_ORIGINS: '*',
    WS_MAX_CONNECTIONS: '1000000',
    WS_MAX_CONNECTIONS_PER_USER: '1000000',
    WS_CONNECTIONS_PER_MINUTE: '1000000',
    // The load generator opens many handshakes at once from a few source addresses.
    WS_MAX_PENDING: '1000000',
    WS_MAX_PENDING_PER_IP: '1000000',
    RATE_LIMIT_MAX: '10000000',
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    DEMO_SERVER: 'false',
  }
}

/** Finds the first string matching `re` anywhere in a JSON value (device keys are returned once, somewhere in meta). */
function findString(v: unknown, re: RegExp): string | undefined {
  if (typeof v === 'string') return re.test(v) ? v : undefined
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) {
      const s = findString(x, re)
      if (s) return s
    }
  }
  return undefined
}

async function api<T>(base: string, method: 'GET' | 'POST', path: string, key: string, body?: unknown): Promise<{ status: number; json: T }> {
  const r = await request(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const text = await r.body.text()
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    json = text
  }
  return { status: r.statusCode, json: json as T }
}

/** Creates the run's database; the first wirehub start migrates it and bootstraps the admin. */
export async function createWirehubContext(opts: { uniqueIds?: boolean } = {}): Promise<WirehubContext> {
  const dbName = `wirehub_bench_${Date.now()}${opts.uniqueIds ? '_c' : ''}`
  await withRoot((c) => c.query(`create database "${dbName}"`))
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-bench-'))
  const adminKey = `wha_${alnum(44)}`
  const databaseUrl = dbUrl(dbName)
  const ctx: WirehubContext = { databaseUrl, dbName, dataDir, env: wirehubEnv(databaseUrl, dataDir, adminKey), adminKey, clientKey: '', devices: [] }
  // 1.0e9–1.9e9: below int4's 2^31 with room for the rows a run creates.
  if (opts.uniqueIds) ctx.idBase = 1_000_000_000 + Math.floor(Math.random() * 9_000) * 100_000
  return ctx
}

/** Creates a user with a client key and `count` devices through the real API (once per run). */
async function bootstrapWirehub(ctx: WirehubContext, base: string, count: number): Promise<void> {
  if (ctx.idBase) {
    const c = new pg.Client({ connectionString: ctx.databaseUrl })
    await c.connect()
    try {
      await c.query(`select setval(s.oid, $1) from pg_class s join pg_namespace n on n.oid = s.relnamespace where s.relkind = 'S' and n.nspname = 'public'`, [ctx.idBase])
    } finally {
      await c.end()
    }
  }
  const u = await api<unknown>(base, 'POST', '/api/application/users', ctx.adminKey, { email: 'loadgen@example.test', password: 'a sufficiently long password', with_client_key: true })
  const key = findString(u.json, /^whc_[A-Za-z0-9]{44}$/)
  if (u.status !== 201 || !key) throw new Error(`bootstrap user: ${u.status} ${JSON.stringify(u.json).slice(0, 300)}`)
  ctx.clientKey = key
  for (let i = 0; i < count; i++) {
    const d = await api<{ attributes?: { id?: number }; data?: { id?: number }; id?: number }>(base, 'POST', '/api/client/devices', key, { name: `bench-${i + 1}`, type: 'sensor' })
    const id = d.json.attributes?.id ?? d.json.data?.id ?? d.json.id
    const deviceKey = findString(d.json, /^whd_[A-Za-z0-9]{12}.{8,}$/)
    if (d.status >= 300 || typeof id !== 'number' || !deviceKey) throw new Error(`create device: ${d.status} ${JSON.stringify(d.json).slice(0, 300)}`)
    ctx.devices.push({ id, key: deviceKey })
  }
}

export async function dropWirehubContext(ctx: WirehubContext): Promise<void> {
  rmSync(ctx.dataDir, { recursive: true, force: true })
  await withRoot((c) => c.query(`drop database if exists "${ctx.dbName}" with (force)`)).catch(() => undefined)
}

/** `BENCH_CPU_PROF=<dir>` profiles wirehub (`--cpu-prof`, written when the process exits). */
const profileArgs = () => (process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])

/** `env` is added to wirehub's environment (the cluster suite's REDIS_URL and NODE_NAME). */
export async function startTarget(name: TargetName, ctx: WirehubContext | null, maxDevices = 10, env: NodeJS.ProcessEnv = {}): Promise<Target> {
  const port = await freePort()
  const httpUrl = `http://127.0.0.1:${port}`
  let proc: ChildProcess
  if (name === 'wirehub') {
    if (!ctx) throw new Error('wirehub needs a database context')
    // BENCH_WIREHUB_ENV='{"WS_PING_INTERVAL":"3600"}' overrides wirehub's environment (experiments).
    const extra = process.env.BENCH_WIREHUB_ENV ? (JSON.parse(process.env.BENCH_WIREHUB_ENV) as Record<string, string>) : {}
    // BENCH_WIREHUB_BUILD=dist runs the compiled server as production does (`npm run build` first):
    // without tsx's loader and source maps, ~75 MB less RSS before the first socket.
    const entry = process.env.BENCH_WIREHUB_BUILD === 'dist' ? ['--import', PROBE, 'dist/server.js'] : ['--import', 'tsx', '--import', WATCHDOG, 'src/server.ts']
    proc = spawnServer(['--expose-gc', ...profileArgs(), ...entry], { ...ctx.env, ...env, ...extra, PORT: String(port) }, { cwd: ROOT })
  } else {
    const file = join(TARGETS_DIR, `${name === 'hub' ? 'hub-only' : name}.ts`)
    proc = spawnServer(['--expose-gc', '--import', 'tsx', file, String(port)], {}, { cwd: ROOT })
  }
  await waitPort(port, 60_000, proc)
  if (name === 'wirehub' && ctx && ctx.devices.length === 0) await bootstrapWirehub(ctx, httpUrl, maxDevices)
  const wirehub = name === 'wirehub'
  const conn: TargetConn = {
    kind: name === 'socketio' ? 'socketio' : 'ws',
    url: name === 'socketio' ? httpUrl : `ws://127.0.0.1:${port}/ws`,
    httpUrl,
    clientKey: wirehub ? ctx!.clientKey : null,
  }
  return {
    name,
    proc,
    pid: proc.pid!,
    port,
    conn,
    publishMode: wirehub ? 'wirehub' : 'baseline',
    httpUrl,
    devices: (d) => (wirehub ? ctx!.devices.slice(0, d) : Array.from({ length: d }, (_, i) => ({ id: i + 1, key: '' }))),
  }
}

export const stopTarget = (t: Target) => stop(t.proc, 5000)

/**
 * K wirehub instances on the context's one database, instance i with `env(i)` (REDIS_URL,
 * NODE_NAME). The first starts alone (it migrates the database and bootstraps the user and
 * devices), the others together; if any fails to start, those already started are stopped.
 */
export async function startWirehubInstances(ctx: WirehubContext, k: number, env: (i: number) => NodeJS.ProcessEnv, maxDevices = 10): Promise<Target[]> {
  const first = await startTarget('wirehub', ctx, maxDevices, env(0))
  const rest = await Promise.allSettled(Array.from({ length: k - 1 }, (_, i) => startTarget('wirehub', ctx, maxDevices, env(i + 1))))
  const started = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))]
  const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) {
    await Promise.all(started.map(stopTarget))
    throw failed.reason
  }
  return started
}
