/**
 * Group commit for telemetry. Ingestion requests append their rows here and wait; the writer
 * turns whatever has accumulated into ONE statement (`unnest` of column arrays, so the statement
 * text and parameter count are constant whatever the row count) that, in one transaction:
 * reserves each device's next reading offsets (locking the device rows in id order, so
 * concurrent statements never deadlock and offsets follow commit order), inserts the readings
 * into the day-partitioned `telemetry` table, and folds them into the 1-minute and 1-hour
 * rollups. Every waiting request is resolved, with the offset of its first reading, once that
 * statement has committed. At most `maxInFlight` statements run at once and one statement holds
 * at most about `maxRows` rows.
 *
 * One request must not fail the others: rows are validated before they get here
 * (telemetry.normalize.ts), and if a shared statement still fails on the data, each request is
 * retried on its own so only the bad one is refused.
 *
 * Rows are kept in column arrays rather than objects: no allocation per row beyond the values.
 */
import type { Database } from '../../db/database.js'
import { numberArrayLiteral, textArrayLiteral } from '../../db/pg-array.js'

export interface TelemetryRows {
  deviceIds: number[]
  /** Index of the row's reading within its request (readings share an offset). */
  readings: number[]
  metrics: string[]
  values: number[]
  units: Array<string | null>
  timestamps: string[]
}

interface Waiter {
  /** Resolves with the offset of the request's first reading (null: the device was deleted). */
  resolve: (firstOffset: number | null) => void
  reject: (err: unknown) => void
  /** Row count of the queue after this request's rows (requests are never split). */
  end: number
  deviceId: number
  readingCount: number
}

/** Folds one statement's buckets (`from`, one row per device, metric and bucket) into a rollup table. */
const upsert = (table: string, from: string) => `
  ${table}_up as (
    insert into ${table} as r (device_id, metric, bucket, min, max, sum, count, last, last_ts, last_seq)
    select device_id, metric, bucket, min, max, sum, count, last, last_ts, last_seq from ${from}
    on conflict (device_id, metric, bucket) do update set
      min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
      sum = r.sum + excluded.sum, count = r.count + excluded.count,
      last = case when (excluded.last_ts, excluded.last_seq) > (r.last_ts, r.last_seq) then excluded.last else r.last end,
      last_seq = case when (excluded.last_ts, excluded.last_seq) > (r.last_ts, r.last_seq) then excluded.last_seq else r.last_seq end,
      last_ts = greatest(r.last_ts, excluded.last_ts))`

/**
 * $1 device ids, $2 reading index within the statement's readings of that device, $3..$6 the
 * row; $7 each device once and $8 its reading count in the statement (counted by the writer, so
 * the rows are read once, straight into `rows`, and not kept and grouped a second time).
 *
 * The statement's rows are aggregated once, into minute buckets (`m1`); the hour buckets are
 * folded from those (a handful of rows per device and metric), not from the rows again, so the
 * readings are sorted and scanned for one rollup only. `last` is the value with the latest
 * (ts, seq), in both.
 */
export const INSERT_SQL = `
with counts as (select * from unnest($7::int[], $8::int[]) as c(device_id, n)),
  locked as materialized (select d.id from devices d where d.id in (select device_id from counts) order by d.id for update),
  bumped as (
    update devices d set telemetry_offset = d.telemetry_offset + c.n
      from counts c where d.id = c.device_id and d.id in (select id from locked)
    returning d.id, d.telemetry_offset - c.n as base),
  rows as materialized (
    select i.device_id, b.base + i.rel + 1 as seq, i.metric, i.value, i.unit, i.ts
      from unnest($1::int[], $2::int[], $3::text[], $4::float8[], $5::text[], $6::timestamptz[]) as i(device_id, rel, metric, value, unit, ts)
      join bumped b on b.id = i.device_id),
  ins as (insert into telemetry (device_id, seq, metric, value, unit, ts) select * from rows),
  m1 as materialized (
    select device_id, metric, date_trunc('minute', ts) as bucket, min(value) as min, max(value) as max, sum(value) as sum, count(*) as count,
           (array_agg(value order by ts desc, seq desc))[1] as last, max(ts) as last_ts, (array_agg(seq order by ts desc, seq desc))[1] as last_seq
      from rows group by 1, 2, 3),
  h1 as (
    select device_id, metric, date_trunc('hour', bucket) as bucket, min(min) as min, max(max) as max, sum(sum) as sum, sum(count)::bigint as count,
           (array_agg(last order by last_ts desc, last_seq desc))[1] as last, max(last_ts) as last_ts, (array_agg(last_seq order by last_ts desc, last_seq desc))[1] as last_seq
      from m1 group by 1, 2, 3),
  ${upsert('telemetry_1m', 'm1')},
  ${upsert('telemetry_1h', 'h1')}
select id, base::float8 as base from bumped`

/** SQLSTATE classes that come from the rows themselves (data, integrity, limits) or a deadlock. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^(22|23|54|40)/.test(code)
}

export function emptyRows(): TelemetryRows {
  return { deviceIds: [], readings: [], metrics: [], values: [], units: [], timestamps: [] }
}

export class TelemetryWriter {
  private rows = emptyRows()
  private waiters: Waiter[] = []
  private inFlight = 0
  private scheduled = false
  private idle: Array<() => void> = []
  /** Devices with a statement in flight. */
  private readonly busy = new Set<number>()
  /** Statements and rows written (the bench and tests read them). */
  readonly stats = { statements: 0, rows: 0, isolations: 0 }

  constructor(
    private readonly db: Pick<Database, 'query'>,
    private readonly maxInFlight = 2,
    private readonly maxRows = 20_000,
  ) {}

  /**
   * Resolves once every row of `rows` (one device's readings, `readingCount` of them) is
   * committed, with the offset of its first reading (the others follow: first + reading index).
   */
  write(rows: TelemetryRows, readingCount: number): Promise<number | null> {
    const q = this.rows
    // push(...x) would hit the argument limit on large batches; plain loops are as fast.
    for (let i = 0; i < rows.deviceIds.length; i++) {
      q.deviceIds.push(rows.deviceIds[i]!)
      q.readings.push(rows.readings[i]!)
      q.metrics.push(rows.metrics[i]!)
      q.values.push(rows.values[i]!)
      q.units.push(rows.units[i] ?? null)
      q.timestamps.push(rows.timestamps[i]!)
    }
    const end = q.deviceIds.length
    const deviceId = rows.deviceIds[0] ?? 0
    const done = new Promise<number | null>((resolve, reject) => this.waiters.push({ resolve, reject, end, deviceId, readingCount }))
    this.schedule()
    return done
  }

  /** Resolves when nothing is queued or being written (shutdown). */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.waiters.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.waiters.length === 0) return
    // Everything queued belongs to devices in flight: the statement ending will schedule again.
    if (this.busy.size > 0 && this.waiters.every((w) => this.busy.has(w.deviceId))) return
    this.scheduled = true
    // setImmediate lets every request parsed in this turn of the event loop join the statement.
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush(): void {
    if (this.waiters.length === 0 || this.inFlight >= this.maxInFlight) return
    const taken = this.take()
    if (!taken) return
    const { rows, waiters } = taken
    const devices = new Set(waiters.map((w) => w.deviceId))
    for (const d of devices) this.busy.add(d)
    this.inFlight++
    this.run(rows, waiters)
      .catch(() => {})
      .finally(() => {
        for (const d of devices) this.busy.delete(d)
        this.inFlight--
        this.schedule()
        if (this.inFlight === 0 && this.waiters.length === 0) for (const fn of this.idle.splice(0)) fn()
      })
    this.schedule()
  }

  /**
   * The requests of the next statement: at most about maxRows rows, and none for a device that
   * has a statement in flight. One device's statements therefore run one after the other, so
   * its readings are stored, resolved and published in offset order (two concurrent statements
   * could otherwise come back, and publish, in the opposite order of their offsets). A request
   * left out keeps every later request of its device out too.
   */
  private take(): { rows: TelemetryRows; waiters: Waiter[] } | null {
    const q = this.rows
    if (this.busy.size === 0 && q.deviceIds.length <= this.maxRows) {
      const all = { rows: q, waiters: this.waiters }
      this.rows = emptyRows()
      this.waiters = []
      return all
    }
    const rows = emptyRows()
    const rest = emptyRows()
    const taken: Waiter[] = []
    const kept: Waiter[] = []
    const blocked = new Set(this.busy)
    let start = 0
    for (const w of this.waiters) {
      const n = w.end - start
      if (!blocked.has(w.deviceId) && (taken.length === 0 || rows.deviceIds.length + n <= this.maxRows)) {
        appendRows(rows, q, start, w.end)
        taken.push({ ...w, end: rows.deviceIds.length })
      } else {
        blocked.add(w.deviceId)
        appendRows(rest, q, start, w.end)
        kept.push({ ...w, end: rest.deviceIds.length })
      }
      start = w.end
    }
    this.rows = rest
    this.waiters = kept
    return taken.length > 0 ? { rows, waiters: taken } : null
  }

  /** One statement for `waiters`; on a data error with several requests, each on its own. */
  private async run(rows: TelemetryRows, waiters: Waiter[]): Promise<void> {
    try {
      const bases = await this.statement(rows, waiters)
      this.stats.statements++
      this.stats.rows += rows.deviceIds.length
      for (const w of waiters) w.resolve(bases.get(w) ?? null)
    } catch (err) {
      if (waiters.length === 1 || !isDataError(err)) {
        for (const w of waiters) w.reject(err)
        return
      }
      this.stats.isolations++
      let start = 0
      for (const w of waiters) {
        const one = sliceRows(rows, start, w.end)
        start = w.end
        await this.run(one, [{ ...w, end: one.deviceIds.length }])
      }
    }
  }

  /** Runs the statement; the first offset of each waiter's readings. */
  private async statement(rows: TelemetryRows, waiters: Waiter[]): Promise<Map<Waiter, number | null>> {
    // Reading indexes relative to the statement: a device's requests follow each other.
    const rel = new Array<number>(rows.deviceIds.length)
    const next = new Map<number, number>()
    const relBase = new Map<Waiter, number>()
    let start = 0
    for (const w of waiters) {
      const base = next.get(w.deviceId) ?? 0
      relBase.set(w, base)
      next.set(w.deviceId, base + w.readingCount)
      for (let i = start; i < w.end; i++) rel[i] = base + rows.readings[i]!
      start = w.end
    }
    const params = [
      numberArrayLiteral(rows.deviceIds),
      numberArrayLiteral(rel),
      textArrayLiteral(rows.metrics),
      numberArrayLiteral(rows.values),
      textArrayLiteral(rows.units),
      textArrayLiteral(rows.timestamps),
      numberArrayLiteral([...next.keys()]),
      numberArrayLiteral([...next.values()]),
    ]
    // Prepared once per connection: the statement is parsed and planned once, not per batch.
    const result = await this.db.query<{ id: number; base: number }>(INSERT_SQL, params, { name: 'telemetry_write' })
    const bases = new Map<number, number>()
    for (const r of result) bases.set(Number(r.id), Number(r.base))
    const out = new Map<Waiter, number | null>()
    for (const w of waiters) {
      const b = bases.get(w.deviceId)
      out.set(w, b === undefined ? null : b + relBase.get(w)! + 1)
    }
    return out
  }
}

function appendRows(to: TelemetryRows, from: TelemetryRows, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    to.deviceIds.push(from.deviceIds[i]!)
    to.readings.push(from.readings[i]!)
    to.metrics.push(from.metrics[i]!)
    to.values.push(from.values[i]!)
    to.units.push(from.units[i] ?? null)
    to.timestamps.push(from.timestamps[i]!)
  }
}

function sliceRows(r: TelemetryRows, start: number, end: number): TelemetryRows {
  return {
    deviceIds: r.deviceIds.slice(start, end),
    readings: r.readings.slice(start, end),
    metrics: r.metrics.slice(start, end),
    values: r.values.slice(start, end),
    units: r.units.slice(start, end),
    timestamps: r.timestamps.slice(start, end),
  }
}
