/**
 * Ingestion suite: readings per second durably stored through wirehub's real endpoint
 * (`POST /api/devices/:id/telemetry`, single readings and batches of 100, closed loop with a
 * fixed number of concurrent requests) against a raw `pg` insert (single rows and 100-row
 * multi-row INSERTs) into the same `telemetry` table of the same database. "Durably stored" is
 * the row-count delta in the table, not the number of 2xx answers. Then ingest → subscriber
 * latency at half the single-reading max rate (10 subscribers, one per device).
 */
import pg from 'pg'
import { Pool } from 'undici'
import { cpuMs, sleep } from '../lib/proc.js'
import { startTarget, stopTarget, type Target, type WirehubContext } from '../lib/targets.js'
import type { LoadGen } from '../loadgen/controller.js'
import { wirehubBody } from '../loadgen/publisher.js'
import { summarize } from '../lib/hist.js'
import { METRIC, stamp } from '../lib/protocol.js'

export interface IngestRun {
  label: string
  batch: number
  concurrency: number
  seconds: number
  requests: number
  failed: number
  stored: number
  readingsPerSec: number
  serverCpuUsPerReading: number | null
  /** wirehub's utime+stime over the run (null: raw pg). */
  serverCpuMs: number | null
  errors: string[]
}

export interface IngestResult {
  runs: IngestRun[]
  latency: { pubRate: number; received: number; expected: number; p50Ms: number; p99Ms: number } | null
}

const countRows = async (db: pg.Pool) => Number((await db.query<{ n: string }>('select count(*)::bigint as n from telemetry')).rows[0]!.n)

/** Runs `concurrency` loops of `one()` for `ms`; returns requests done and failed. */
async function closedLoop(ms: number, concurrency: number, one: () => Promise<boolean>, errors: string[]): Promise<{ requests: number; failed: number; elapsed: number }> {
  const until = performance.now() + ms
  let requests = 0
  let failed = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        try {
          if (await one()) requests++
          else failed++
        } catch (e) {
          failed++
          if (errors.length < 3) errors.push((e as Error).message)
        }
      }
    }),
  )
  return { requests, failed, elapsed: (performance.now() - t0) / 1000 }
}

async function viaWirehub(target: Target, db: pg.Pool, batch: number, concurrency: number, ms: number): Promise<IngestRun> {
  const pool = new Pool(target.httpUrl, { connections: concurrency })
  const devices = target.devices(10)
  const errors: string[] = []
  let i = 0
  const before = await countRows(db)
  const cpu0 = cpuMs(target.pid)
  const r = await closedLoop(ms, concurrency, async () => {
    const dev = devices[i++ % devices.length]!
    const res = await pool.request({ method: 'POST', path: `/api/devices/${dev.id}/telemetry`, headers: { 'content-type': 'application/json', authorization: `Bearer ${dev.key}` }, body: wirehubBody(0, batch) })
    const ok = res.statusCode >= 200 && res.statusCode < 300
    const text = await res.body.text()
    if (!ok && errors.length < 3) errors.push(`${res.statusCode} ${text.slice(0, 200)}`)
    return ok
  }, errors)
  const cpu = cpuMs(target.pid) - cpu0
  await pool.close()
  const stored = (await countRows(db)) - before
  return { label: `wirehub HTTP, batch ${batch}`, batch, concurrency, seconds: r.elapsed, requests: r.requests, failed: r.failed, stored, readingsPerSec: Math.round(stored / r.elapsed), serverCpuUsPerReading: stored ? Math.round((cpu * 1000) / stored) : null, serverCpuMs: cpu, errors }
}

async function viaPg(db: pg.Pool, deviceIds: number[], batch: number, concurrency: number, ms: number): Promise<IngestRun> {
  const errors: string[] = []
  const cols = 6
  const placeholders = Array.from({ length: batch }, (_, r) => `(${Array.from({ length: cols }, (_, c) => `$${r * cols + c + 1}`).join(',')})`).join(',')
  // The same partitioned table; the baseline writes a plain counter as the reading offset
  // (no per-device offset reservation, no rollups).
  const sql = `insert into telemetry (device_id, seq, metric, value, unit, ts) values ${placeholders}`
  let seq = 1e12
  let i = 0
  const before = await countRows(db)
  const r = await closedLoop(ms, concurrency, async () => {
    const params: unknown[] = []
    const dev = deviceIds[i++ % deviceIds.length]!
    for (let k = 0; k < batch; k++) params.push(dev, seq++, METRIC, stamp(0), 'ms', new Date())
    await db.query(sql, params)
    return true
  }, errors)
  const stored = (await countRows(db)) - before
  return { label: `raw pg INSERT, ${batch} row(s)`, batch, concurrency, seconds: r.elapsed, requests: r.requests, failed: r.failed, stored, readingsPerSec: Math.round(stored / r.elapsed), serverCpuUsPerReading: null, serverCpuMs: null, errors }
}

/** Windows per path, taken in turns (wirehub, raw pg, wirehub, …). */
const SLICES = 3

/** One run from the slices of one path: totals, and the rate over their summed time. */
function combine(runs: IngestRun[]): IngestRun {
  const first = runs[0]!
  const sum = (f: (r: IngestRun) => number) => runs.reduce((n, r) => n + f(r), 0)
  const seconds = sum((r) => r.seconds)
  const stored = sum((r) => r.stored)
  const cpuMs = first.serverCpuMs === null ? null : sum((r) => r.serverCpuMs ?? 0)
  return {
    ...first,
    seconds,
    requests: sum((r) => r.requests),
    failed: sum((r) => r.failed),
    stored,
    readingsPerSec: Math.round(stored / seconds),
    serverCpuUsPerReading: cpuMs === null || !stored ? null : Math.round((cpuMs * 1000) / stored),
    serverCpuMs: cpuMs,
    errors: runs.flatMap((r) => r.errors).slice(0, 3),
  }
}

export async function runIngest(ctx: WirehubContext, lg: LoadGen, opts: { quick: boolean; log: (s: string) => void }): Promise<IngestResult> {
  const ms = opts.quick ? 3000 : 6000
  const db = new pg.Pool({ connectionString: ctx.databaseUrl, max: 16 })
  const target = await startTarget('wirehub', ctx)
  const result: IngestResult = { runs: [], latency: null }
  try {
    const ids = target.devices(10).map((d) => d.id)
    for (const [batch, conc] of [[1, 32], [100, 8]] as const) {
      // wirehub and raw pg take turns in SLICES windows each, so a change in the machine's load
      // during the run weighs on both sides alike (on a shared machine raw pg alone moved by 2×
      // between consecutive 6-second windows).
      const ws: IngestRun[] = []
      const ps: IngestRun[] = []
      for (let k = 0; k < SLICES; k++) {
        ws.push(await viaWirehub(target, db, batch, conc, ms / SLICES))
        ps.push(await viaPg(db, ids, batch, conc, ms / SLICES))
      }
      const w = combine(ws)
      const p = combine(ps)
      opts.log(`  ingest ${w.label}: ${w.readingsPerSec} readings/s stored (${w.requests} ok, ${w.failed} failed; slices ${ws.map((r) => r.readingsPerSec).join(', ')})${w.errors.length ? ` ${w.errors.join(' | ')}` : ''}`)
      opts.log(`  ingest ${p.label}: ${p.readingsPerSec} readings/s stored (slices ${ps.map((r) => r.readingsPerSec).join(', ')})`)
      result.runs.push(w, p)
      await sleep(500)
    }
    // Ingest → subscriber latency at half the single-reading max rate, 10 subscribers.
    const single = result.runs.find((r) => r.batch === 1 && r.label.startsWith('wirehub'))
    if (single && single.readingsPerSec > 0) {
      const conn = await lg.connect(target.conn, 10, ids)
      if (conn.failed === 0) {
        const pubRate = single.readingsPerSec / 2
        // Warm-up at the same rate, unrecorded (as the fan-out ramp does): the first second of
        // publishing to subscribers runs cold code paths and collects the throughput runs'
        // garbage; a cold window measured p99 ~110 ms where the next one measured 2.5 ms.
        await lg.reset(899_999)
        await lg.publish({ step: 899_999, mode: 'wirehub', url: target.httpUrl, devices: target.devices(10), rate: pubRate, durationMs: 1500, batch: 1, maxInflight: 512 })
        await sleep(500)
        await lg.reset(900_000)
        const pub = await lg.publish({ step: 900_000, mode: 'wirehub', url: target.httpUrl, devices: target.devices(10), rate: pubRate, durationMs: ms, batch: 1, maxInflight: 512 })
        await sleep(1000)
        const c = await lg.collect()
        const s = summarize(c.hist)
        c.hist.destroy()
        result.latency = { pubRate: Math.round(pubRate), received: c.received, expected: pub.ok, p50Ms: s.p50Ms, p99Ms: s.p99Ms }
        opts.log(`  ingest→subscriber at ${Math.round(pubRate)} readings/s: received ${c.received}/${pub.ok}, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms`)
      }
      await lg.close()
    }
  } finally {
    await stopTarget(target)
    await db.end()
  }
  return result
}

export function ingestTable(r: IngestResult): string {
  const out = ['\n**Ingestion** (readings/s durably stored = row-count delta; same database and table)\n', '| path | concurrency | readings/s | ratio to raw pg | server CPU / reading |', '|---|---|---|---|---|']
  for (const run of r.runs) {
    const base = r.runs.find((x) => x.batch === run.batch && x.label.startsWith('raw pg'))
    out.push(`| ${run.label} | ${run.concurrency} | ${run.readingsPerSec.toLocaleString('en-US')} | ${base && base.readingsPerSec ? (run.readingsPerSec / base.readingsPerSec).toFixed(2) + '×' : '—'} | ${run.serverCpuUsPerReading === null ? '—' : `${run.serverCpuUsPerReading} µs`} |`)
  }
  if (r.latency) out.push(`\nIngest → subscriber at ${r.latency.pubRate} readings/s (half the single-reading max): p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms, ${r.latency.received}/${r.latency.expected} delivered.`)
  return out.join('\n')
}
