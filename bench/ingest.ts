/**
 * `npx tsx bench/ingest.ts [--seconds=5]`: a standalone ingestion benchmark (the harness's is
 * `npm run bench -- --suites=ingest`). Builds wirehub in this process on a fresh
 * PostgreSQL database, then measures readings/s durably stored (row-count delta of `telemetry`)
 * through `POST /api/devices/:id/telemetry` with single readings and batches of 100, against a
 * raw `pg` multi-row INSERT into the same table, and ingest → subscriber latency (a `ws`
 * subscriber on /ws, readings at a fixed moderate rate, latency = receive time − send time
 * carried in the value). Not a test: numbers depend on the machine and its load.
 *
 * Caveat: the HTTP client runs in the same process as the server here, so HTTP figures are a
 * lower bound; the harness in bench/run.ts runs the server in its own process.
 */
import pg from 'pg'
import { Pool } from 'undici'
import WebSocket from 'ws'
import { closedLoop, pct, startBenchApp } from './lib/bench-app.js'

const seconds = Number(/--seconds=(\d+)/.exec(process.argv.join(' '))?.[1] ?? 5)
const log = (s: string) => process.stdout.write(`${s}\n`)

async function main() {
  const bench = await startBenchApp({ env: { DATABASE_POOL_SIZE: '10' }, devices: 10 })
  const { app, url, databaseUrl, devices } = bench
  const key = bench.clientKey
  const db = new pg.Pool({ connectionString: databaseUrl, max: 8 })
  const count = async () => Number((await db.query('select count(*)::bigint as n from telemetry')).rows[0].n)
  const results: Record<string, number> = {}

  const http = async (batch: number, concurrency: number) => {
    const pool = new Pool(url, { connections: concurrency })
    const reading = () => ({ temperature: { value: 20 + Math.random(), unit: '°C' } })
    const body = batch === 1 ? JSON.stringify({ telemetry: reading() }) : JSON.stringify({ readings: Array.from({ length: batch }, () => ({ telemetry: reading() })) })
    let i = 0
    const before = await count()
    const r = await closedLoop(seconds * 1000, concurrency, async () => {
      const d = devices[i++ % devices.length]!
      const res = await pool.request({ method: 'POST', path: `/api/devices/${d.id}/telemetry`, headers: { 'content-type': 'application/json', authorization: `Bearer ${d.key}` }, body })
      await res.body.text()
      if (res.statusCode !== 201) throw new Error(String(res.statusCode))
    })
    await pool.close()
    const rate = Math.round(((await count()) - before) / r.elapsed)
    log(`wirehub HTTP, batch ${batch}, ${concurrency} concurrent: ${rate.toLocaleString('en-US')} readings/s stored (${r.failed} failed)`)
    return rate
  }

  const raw = async (batch: number, concurrency: number) => {
    const placeholders = Array.from({ length: batch }, (_, r) => `($${r * 6 + 1},$${r * 6 + 2},$${r * 6 + 3},$${r * 6 + 4},$${r * 6 + 5},$${r * 6 + 6})`).join(',')
    // Same partitioned table; a plain counter stands in for the reading offset.
    const sql = `insert into telemetry (device_id, seq, metric, value, unit, ts) values ${placeholders}`
    let seq = 1e12
    let i = 0
    const before = await count()
    const r = await closedLoop(seconds * 1000, concurrency, async () => {
      const d = devices[i++ % devices.length]!
      const params: unknown[] = []
      for (let k = 0; k < batch; k++) params.push(d.id, seq++, 'temperature', 20 + Math.random(), '°C', new Date())
      await db.query(sql, params)
    })
    const rate = Math.round(((await count()) - before) / r.elapsed)
    log(`raw pg multi-row INSERT, ${batch} row(s), ${concurrency} concurrent: ${rate.toLocaleString('en-US')} rows/s`)
    return rate
  }

  results.http1 = await http(1, 32)
  results.raw1 = await raw(1, 8)
  results.http100 = await http(100, 8)
  results.raw100 = await raw(100, 8)
  log(`ratio to raw pg: single ${(results.http1 / results.raw1).toFixed(2)}×, batch of 100 ${(results.http100 / results.raw100).toFixed(2)}×`)
  log(`writer: ${app.iot.writer.stats.statements} INSERT statements for ${app.iot.writer.stats.rows} rows (${(app.iot.writer.stats.rows / Math.max(1, app.iot.writer.stats.statements)).toFixed(1)} rows/statement)`)

  // Ingest → subscriber latency at a fixed moderate rate (single readings, open loop).
  const token = (await app.inject({ method: 'GET', url: '/api/client/websocket', headers: { authorization: `Bearer ${key}` } })).json().data.token
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { origin: url } })
  const latencies: number[] = []
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject)
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString())
      if (m.type === 'auth_response') ws.send(JSON.stringify({ type: 'subscribe', channel: 'telemetry' }))
      else if (m.type === 'subscribed') resolve()
      else if (m.type === 'telemetry_update') latencies.push(performance.timeOrigin + performance.now() - m.telemetry.sent.value)
    })
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })))
  })
  const rate = Math.max(100, Math.min(2000, Math.round(results.http1 / 2)))
  const pool = new Pool(url, { connections: 64 })
  let sent = 0
  const started = performance.now()
  const inflight = new Set<Promise<unknown>>()
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate)
    while (sent < due) {
      const d = devices[sent++ % devices.length]!
      const body = JSON.stringify({ telemetry: { sent: { value: performance.timeOrigin + performance.now() } } })
      const p = pool.request({ method: 'POST', path: `/api/devices/${d.id}/telemetry`, headers: { 'content-type': 'application/json', authorization: `Bearer ${d.key}` }, body }).then((r) => r.body.text())
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
    }
    await new Promise((r) => setTimeout(r, 2))
  }
  await Promise.allSettled([...inflight])
  await new Promise((r) => setTimeout(r, 200))
  latencies.sort((a, b) => a - b)
  log(`ingest → subscriber at ${rate} readings/s: ${latencies.length}/${sent} delivered, p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms`)
  ws.close()
  await pool.close()
  await db.end()
  await bench.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
