/**
 * `npx tsx bench/telemetry.ts [--days=30] [--drop-rows=5000000] [--history=1000] [--runs=50]`:
 * the telemetry storage benchmark, standalone, on a fresh PostgreSQL database:
 *  - history: `--days` of one reading per second for one metric (86 400 rows a day, written with
 *    generate_series into the partitions and rolled up as ingestion would), then the 30-day
 *    query at 1-hour buckets from the rollup (the history endpoint) against the raw bucketed
 *    query over the same rows, p50/p99 over `--runs`;
 *  - retention: a past day holding `--drop-rows` rows is dropped by the retention run while
 *    another loop ingests single readings through the writer; drop time, and ingestion p99
 *    before vs during;
 *  - seam: a history-then-live subscribe for `--history` readings on /ws while readings keep
 *    arriving: time to the last history frame, gaps and duplicates across the seam.
 * Batched ingestion into the partitioned table against raw pg is `bench/ingest.ts` (and the
 * harness's ingest suite). Not a test: numbers depend on the machine and its load.
 */
import WebSocket from 'ws'
import { telemetryBuckets } from '../src/modules/devices/telemetry.history.js'
import { emptyRows } from '../src/modules/devices/telemetry.writer.js'
import { partitionName } from '../src/modules/devices/telemetry.retention.js'
import { pct as pctSorted, startBenchApp, type BenchApp } from './lib/bench-app.js'

const arg = (name: string, def: number) => Number(new RegExp(`--${name}=(\\d+)`).exec(process.argv.join(' '))?.[1] ?? def)
const DAYS = arg('days', 30)
const DROP_ROWS = arg('drop-rows', 5_000_000)
const HISTORY = arg('history', 1000)
const RUNS = arg('runs', 50)
const DAY = 86_400_000
const log = (s: string) => process.stdout.write(`${s}\n`)
const pct = (xs: number[], p: number) => pctSorted([...xs].sort((a, b) => a - b), p)
let bench: BenchApp | null = null
const ms = (x: number) => `${x.toFixed(1)} ms`

async function main() {
  bench = await startBenchApp({ env: { TELEMETRY_RETENTION: String(DAYS + 5) } })
  const { app, url } = bench
  const key = bench.clientKey
  const mk = bench.createDevice
  const db = app.db

  // ---------------------------------------------------------------- history at 1-hour buckets
  const dev = await mk('history')
  const now = Date.now()
  const today = Math.floor(now / DAY) * DAY
  const start = today - (DAYS - 1) * DAY
  const t0 = performance.now()
  for (let d = 0; d < DAYS; d++) {
    const day = start + d * DAY
    if (day < today) await db.query(`create table if not exists "${partitionName(day)}" partition of telemetry for values from ('${new Date(day).toISOString()}') to ('${new Date(day + DAY).toISOString()}')`)
    await db.query(
      `insert into telemetry (device_id, seq, metric, value, ts)
       select $1, $2 + g, 'temp', 20 + sin(g / 600.0) * 5, $3::timestamptz + g * interval '1 second' from generate_series(0, 86399) g`,
      [dev.id, d * 86_400, new Date(day).toISOString()],
    )
  }
  for (const [table, unit] of [['telemetry_1m', 'minute'], ['telemetry_1h', 'hour']] as const) {
    await db.query(
      `insert into ${table} select device_id, metric, date_trunc('${unit}', ts), min(value), max(value), sum(value), count(*),
              (array_agg(value order by ts desc, seq desc))[1], max(ts), (array_agg(seq order by ts desc, seq desc))[1]
         from telemetry where device_id = $1 group by 1, 2, 3`,
      [dev.id],
    )
  }
  await db.query('analyze telemetry; analyze telemetry_1h')
  log(`history: ${(DAYS * 86_400).toLocaleString('en-US')} rows over ${DAYS} days written in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const range = { from: new Date(start), to: new Date(today + DAY), limit: 10_000, seconds: 3600, metric: 'temp' }
  for (const raw of [false, true]) {
    const times: number[] = []
    let buckets = 0
    for (let i = 0; i < (raw ? Math.min(RUNS, 10) : RUNS); i++) {
      const s = performance.now()
      buckets = (await telemetryBuckets(db, dev.id, { ...range, raw })).length
      times.push(performance.now() - s)
    }
    log(`history ${DAYS} d at 1 h (${buckets} buckets) from ${raw ? 'raw rows (the previous query)' : 'the 1-hour rollup'}: p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))} over ${times.length} runs`)
  }

  // ---------------------------------------------------------------- retention drop while ingesting
  const ing = await mk('ingest')
  const oldDay = today - (DAYS + 10) * DAY
  const oldName = partitionName(oldDay)
  await db.query(`create table "${oldName}" partition of telemetry for values from ('${new Date(oldDay).toISOString()}') to ('${new Date(oldDay + DAY).toISOString()}')`)
  await db.query(
    `insert into telemetry (device_id, seq, metric, value, ts) select $1, g, 'v', g, $2::timestamptz + (g % 86400000) * interval '1 millisecond' from generate_series(1, $3) g`,
    [ing.id, new Date(oldDay).toISOString(), DROP_ROWS],
  )
  const writer = app.devices.writer
  let offsetBase = 0
  const one = async () => {
    const r = emptyRows()
    r.deviceIds.push(ing.id)
    r.readings.push(0)
    r.metrics.push('v')
    r.values.push(++offsetBase)
    r.units.push(null)
    r.timestamps.push(new Date().toISOString())
    const s = performance.now()
    await writer.write(r, 1)
    return performance.now() - s
  }
  const loop = async (untilDone: () => boolean, out: number[]) => {
    while (!untilDone()) out.push(await one())
  }
  const before: number[] = []
  const stopAt = performance.now() + 2000
  await Promise.all(Array.from({ length: 4 }, () => loop(() => performance.now() > stopAt, before)))
  const during: number[] = []
  let dropped = false
  let dropMs = 0
  const ingesting = Promise.all(Array.from({ length: 4 }, () => loop(() => dropped, during)))
  const s = performance.now()
  const report = await app.devices.retention.run()
  dropMs = performance.now() - s
  dropped = true
  await ingesting
  log(`retention: dropped ${report.dropped.join(', ')} (${DROP_ROWS.toLocaleString('en-US')} rows) in ${ms(dropMs)} (the whole run, partition maintenance included)`)
  log(`retention: single-reading ingestion p99 ${ms(pct(before, 99))} before (${before.length} writes), ${ms(pct(during, 99))} during the run (${during.length} writes)`)

  // ---------------------------------------------------------------- history-then-live seam
  const live = await mk('seam')
  for (let i = 0; i < HISTORY; i += 100) {
    await app.inject({ method: 'POST', url: `/api/devices/${live.id}/telemetry`, headers: { authorization: `Bearer ${live.key}` }, payload: { readings: Array.from({ length: 100 }, (_, j) => ({ telemetry: { v: i + j } })) } })
  }
  const token = (await app.inject({ method: 'GET', url: '/api/client/websocket', headers: { authorization: `Bearer ${key}` } })).json().data.token as string
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { origin: url } })
  const offsets: number[] = []
  let lastHistoryAt = 0
  let subscribedAt = 0
  let complete: (() => void) | null = null
  const completed = new Promise<void>((r) => (complete = r))
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString())
    if (m.type === 'auth_response') {
      subscribedAt = performance.now()
      ws.send(JSON.stringify({ type: 'subscribe', channel: 'telemetry', device_id: live.id, history: { last: HISTORY } }))
    }
    if (m.type === 'telemetry_history') {
      for (const r of m.readings) offsets.push(r.offset)
      if (m.complete) {
        lastHistoryAt = performance.now()
        complete!()
      }
    }
    if (m.type === 'telemetry_update') offsets.push(m.offset)
  })
  await new Promise((r) => ws.once('open', r))
  let sending = true
  const sender = (async () => {
    let v = 0
    while (sending) {
      await app.inject({ method: 'POST', url: `/api/devices/${live.id}/telemetry`, headers: { authorization: `Bearer ${live.key}` }, payload: { v: ++v } })
    }
  })()
  ws.send(JSON.stringify({ type: 'auth', token }))
  await completed
  await new Promise((r) => setTimeout(r, 1000))
  sending = false
  await sender
  await new Promise((r) => setTimeout(r, 300))
  ws.close()
  let gaps = 0
  let dups = 0
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i]! === offsets[i - 1]!) dups++
    else if (offsets[i]! !== offsets[i - 1]! + 1) gaps++
  }
  log(`seam: last history frame ${ms(lastHistoryAt - subscribedAt)} after subscribe (${HISTORY} readings); ${offsets.length} readings seen, ${gaps} gaps, ${dups} duplicates across the seam under concurrent ingestion`)
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(async () => {
    await bench?.close()
    process.exit()
  })
