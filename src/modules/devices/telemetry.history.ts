/** Telemetry history queries (raw SQL: these scan many rows and need no Prisma mapping). */
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
    `select metric, value, unit, ts from telemetry where ${cond} order by ts ${forward ? 'asc' : 'desc'}, id ${forward ? 'asc' : 'desc'} limit $${params.length}`,
    params,
  )
  if (!forward) rows.reverse()
  return rows.map((r) => ({ metric: r.metric, value: Number(r.value), unit: r.unit, timestamp: new Date(r.ts).toISOString() }))
}

/** min/max/avg/count per metric and bucket of `seconds`, oldest first (default range: the last 24 h). */
export async function telemetryBuckets(db: Pick<Database, 'query'>, deviceId: number, o: HistoryOptions & { seconds: number }) {
  const params: unknown[] = []
  const from = o.from ?? new Date((o.to?.getTime() ?? Date.now()) - 86_400_000)
  const cond = where(deviceId, { ...o, from }, params)
  params.push(o.seconds)
  const iv = `$${params.length}::float8`
  params.push(o.limit)
  const rows = await db.query<{ metric: string; bucket: Date | string; min: number; max: number; avg: number; count: string | number }>(
    `select metric, to_timestamp(floor(extract(epoch from ts) / ${iv}) * ${iv}) as bucket,
            min(value) as min, max(value) as max, avg(value) as avg, count(*) as count
       from telemetry where ${cond}
      group by metric, bucket order by bucket asc, metric asc limit $${params.length}`,
    params,
  )
  return rows.map((r) => ({
    metric: r.metric,
    bucket: new Date(r.bucket).toISOString(),
    min: Number(r.min),
    max: Number(r.max),
    avg: Number(r.avg),
    count: Number(r.count),
  }))
}
