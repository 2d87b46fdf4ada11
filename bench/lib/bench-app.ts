/**
 * wirehub built in the benchmark's own process, for the standalone scripts (`bench/ingest.ts`,
 * `bench/mqtt.ts`, `bench/telemetry.ts`): a fresh PostgreSQL database cloned from the tests'
 * migrated template, a temporary data folder, limits raised so only capacity limits a run, a
 * listening server, a user with a client key and devices with their keys. `close()` undoes all
 * of it. (The harness, `bench/run.ts`, runs wirehub as its own process instead: lib/targets.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/config.js'
import type { Config } from '../../src/config/config.schema.js'
import { freshDatabase, ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD } from '../../test/helper.js'

export interface BenchDevice {
  id: number
  key: string
}

export interface BenchApp {
  app: FastifyInstance
  config: Config
  /** `http://127.0.0.1:<port>` */
  url: string
  databaseUrl: string
  /** The bench user's client key (`Authorization: Bearer …` on the client API). */
  clientKey: string
  /** The devices asked for at start, in creation order. */
  devices: BenchDevice[]
  /** Another device of the bench user. */
  createDevice(name: string): Promise<BenchDevice>
  /** Closes the app, drops the database and removes the data folder (also after a failed start). */
  close(): Promise<void>
}

/** Raised limits every standalone bench shares; `env` adds to or overrides them. */
const BENCH_ENV: Record<string, string> = {
  PORT: '0',
  LOG_LEVEL: 'warn',
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ADMIN_API_KEY,
  SOCKET_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
  WS_CONNECTIONS_PER_MINUTE: '1000',
  RATE_LIMIT_MAX: '10000000',
  ALLOWED_ORIGINS: '*',
}

export async function startBenchApp(opts: { env?: Record<string, string>; devices?: number } = {}): Promise<BenchApp> {
  const teardowns: Array<() => unknown> = []
  const close = async () => {
    for (const fn of teardowns.splice(0).reverse()) await fn()
  }
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-bench-'))
    teardowns.push(() => rmSync(dataDir, { recursive: true, force: true }))
    const databaseUrl = await freshDatabase({ teardown: (fn) => teardowns.push(fn) })
    const config = loadConfig({ env: { ...BENCH_ENV, DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...opts.env }, dotenv: false })
    const app = await buildApp(config, { logger: false })
    teardowns.push(() => app.close())
    await app.listen({ host: '127.0.0.1', port: 0 })
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    config.publicUrl = url

    const user = (await app.inject({ method: 'POST', url: '/api/application/users', headers: { authorization: `Bearer ${ADMIN_API_KEY}` }, payload: { email: 'bench@example.test', with_client_key: true } })).json()
    const clientKey = user.meta.api_key as string
    const createDevice = async (name: string): Promise<BenchDevice> => {
      const res = await app.inject({ method: 'POST', url: '/api/client/devices', headers: { authorization: `Bearer ${clientKey}` }, payload: { name } })
      if (res.statusCode !== 201) throw new Error(`create device: ${res.statusCode} ${res.body.slice(0, 200)}`)
      const d = res.json()
      return { id: d.attributes.id as number, key: d.meta.device_key as string }
    }
    const devices: BenchDevice[] = []
    for (let i = 0; i < (opts.devices ?? 0); i++) devices.push(await createDevice(`bench${i}`))
    return { app, config, url, databaseUrl, clientKey, devices, createDevice, close }
  } catch (err) {
    await close()
    throw err
  }
}

/** Runs `concurrency` loops of `one(worker)` for `ms`; elapsed seconds and the failed calls. */
export async function closedLoop(ms: number, concurrency: number, one: (worker: number) => Promise<void>): Promise<{ elapsed: number; failed: number }> {
  const until = performance.now() + ms
  const t0 = performance.now()
  let failed = 0
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < until) await one(w).catch(() => failed++)
    }),
  )
  return { elapsed: (performance.now() - t0) / 1000, failed }
}

/** The p-th percentile of an ascending array (NaN when empty). */
export function pct(sorted: readonly number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN
}
