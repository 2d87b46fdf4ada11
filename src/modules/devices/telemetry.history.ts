/**
 * Telemetry history queries (raw SQL: these scan many rows and need no Prisma mapping). Bucketed
 * history reads the 1-hour rollup when the interval is whole hours, the 1-minute rollup when it
 * is whole minutes, and raw readings otherwise; with a rollup the range is widened to whole
 * rollup buckets at the edges.
 */
import type { Database } from '../../db/database.js'

export interface HistoryOptions {
  metric?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
  limit: number
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `90`, `90s`, `5m`, `1h`, `1d` → seconds; null outside 1 s .. 366 d. */
export function parseInterval(text: string): number | null {
  const m = /^([0-9]{1,7})(s|m|h|d)?$/.exec(text)
  if (!m) return null
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] ?? 's']!
  return seconds >= 1 && seconds <= 366 * 86_400 ? seconds : null
}

function where(deviceId: number, o: HistoryOptions, params: unknown[]): string {
  params.push(deviceId)
  let sql = 'device_id = $1'
  if (o.metric !== undefined) {
    params.push(o.metric)
    sql += ` and metric = $${params.length}`
  }
  if (o.from) {
    params.push(o.from.toISOString())
    sql += ` and ts >= $${params.length}`
  }
  if (o.to) {
    params.push(o.to.toISOString())
    sql += ` and ts < $${params.length}`
  }
  return sql
}

/** Readings oldest first: from `from` forward, or the latest `limit` when no `from` is given. */
export async function telemetryHistory(db: Pick<Database, 'query'>, deviceId: number, o: HistoryOptions) {
  const params: unknown[] = []
  const cond = where(deviceId, o, params)
  params.push(o.limit)
  const forward = o.from !== undefined
  const rows = await db.query<{ metric: string; value: number; unit: string | null; ts: Date | string }>(
    `select metric, value, unit, ts from telemetry where ${cond} order by ts ${forward ? 'asc' : 'desc'}, seq ${forward ? 'asc' : 'desc'} limit $${params.length}`,
    params,
  )
  if (!forward) rows.reverse()
  return rows.map((r) => ({ metric: r.metric, value: Number(r.value), unit: r.unit, timestamp: new Date(r.ts).toISOString() }))
}

/** Out of float8 range (a sum of huge values): the query is repeated in numeric. */
const isOverflow = (err: unknown) => (err as { code?: unknown } | null)?.code === '22003'

async function withOverflowRetry<R>(run: (numeric: boolean) => Promise<R>): Promise<R> {
  try {
    return await run(false)
  } catch (err) {
    if (!isOverflow(err)) throw err
    return run(true)
  }
}

type BucketRow = { metric: string; bucket: Date | string; min: number; max: number; avg: number; count: string | number; last: number }

/** Which table answers an interval: a rollup whose bucket divides it, else raw readings. */
export function sourceFor(seconds: number): { table: 'telemetry_1h' | 'telemetry_1m'; granularityMs: number } | null {
  if (seconds % 3600 === 0) return { table: 'telemetry_1h', granularityMs: 3_600_000 }
  if (seconds % 60 === 0) return { table: 'telemetry_1m', granularityMs: 60_000 }
  return null
}

/** min/max/avg/count/last per metric and bucket of `seconds`, oldest first (default range: the last 24 h). */
export async function telemetryBuckets(db: Pick<Database, 'query'>, deviceId: number, o: HistoryOptions & { seconds: number; raw?: boolean }) {
  const params: unknown[] = []
  const to = o.to
  const source = o.raw ? null : sourceFor(o.seconds)
  let from = o.from ?? new Date((to?.getTime() ?? Date.now()) - 86_400_000)
  if (source) from = new Date(Math.floor(from.getTime() / source.granularityMs) * source.granularityMs)
  params.push(deviceId)
  let cond = 'device_id = $1'
  if (o.metric !== undefined) {
    params.push(o.metric)
    cond += ` and metric = $${params.length}`
  }
  const col = source ? 'bucket' : 'ts'
  params.push(from.toISOString())
  cond += ` and ${col} >= $${params.length}`
  if (to) {
    params.push(to.toISOString())
    cond += ` and ${col} < $${params.length}`
  }
  params.push(o.seconds)
  const iv = `$${params.length}::float8`
  params.push(o.limit)
  const rows = await withOverflowRetry((numeric) => {
    const sql = source
      ? `select metric, to_timestamp(floor(extract(epoch from bucket) / ${iv}) * ${iv}) as bucket,
                min(min) as min, max(max) as max,
                ${numeric ? 'sum(sum::numeric) / sum(count)' : 'sum(sum) / sum(count)'} as avg, sum(count) as count,
                (array_agg(last order by last_ts desc, last_seq desc))[1] as last
           from ${source.table} where ${cond}
          group by 1, 2 order by 2 asc, 1 asc limit $${params.length}`
      : `select metric, to_timestamp(floor(extract(epoch from ts) / ${iv}) * ${iv}) as bucket,
                min(value) as min, max(value) as max, ${numeric ? 'avg(value::numeric)' : 'avg(value)'} as avg, count(*) as count,
                (array_agg(value order by ts desc, seq desc))[1] as last
           from telemetry where ${cond}
          group by 1, 2 order by 2 asc, 1 asc limit $${params.length}`
    return db.query<BucketRow>(sql, params)
  })
  return rows.map((r) => ({
    metric: r.metric,
    bucket: new Date(r.bucket).toISOString(),
    min: Number(r.min),
    max: Number(r.max),
    avg: Number(r.avg),
    count: Number(r.count),
    last: Number(r.last),
  }))
}

/** The latest reading of each metric of the device's catalogue (from the 1-minute rollup). */
export async function latestValues(db: Pick<Database, 'query'>, deviceId: number) {
  const rows = await db.query<{ metric: string; unit: string | null; value: number; ts: Date | string; seq: string | number; first_seen_at: Date | string; last_seen_at: Date | string }>(
    `select m.metric, m.unit, l.last as value, l.last_ts as ts, l.last_seq as seq, m.first_seen_at, m.last_seen_at
       from device_metrics m
       cross join lateral (
         select last, last_ts, last_seq from telemetry_1m r
          where r.device_id = m.device_id and r.metric = m.metric order by r.bucket desc limit 1) l
      where m.device_id = $1 order by m.metric`,
    [deviceId],
  )
  return rows.map((r) => ({ metric: r.metric, value: Number(r.value), unit: r.unit, timestamp: new Date(r.ts).toISOString(), offset: Number(r.seq) }))
}
