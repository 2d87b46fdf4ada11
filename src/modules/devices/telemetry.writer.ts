/**
 * Group commit for telemetry. Ingestion requests append their rows here and wait; the writer
 * turns whatever has accumulated into ONE multi-row INSERT (`unnest` of five column arrays, so
 * the statement text and parameter count are constant whatever the row count) and resolves
 * every waiting request once that statement has committed. Under load, concurrent requests
 * share statements, which is what makes single-reading requests cheap; at most `maxInFlight`
 * statements run at once and one statement holds at most about `maxRows` rows.
 *
 * Rows are kept in column arrays rather than objects: no allocation per row beyond the values.
 */
import type { Database } from '../../db/database.js'

export interface TelemetryRows {
  deviceIds: number[]
  metrics: string[]
  values: number[]
  units: Array<string | null>
  timestamps: string[]
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
  /** Row count of the queue after this request's rows (requests are never split). */
  end: number
}

const INSERT_SQL =
  'insert into telemetry (device_id, metric, value, unit, ts) ' +
  'select * from unnest($1::int[], $2::text[], $3::float8[], $4::text[], $5::timestamptz[])'

export function emptyRows(): TelemetryRows {
  return { deviceIds: [], metrics: [], values: [], units: [], timestamps: [] }
}

export class TelemetryWriter {
  private rows = emptyRows()
  private waiters: Waiter[] = []
  private inFlight = 0
  private scheduled = false
  private idle: Array<() => void> = []
  /** Statements and rows written (the bench and tests read them). */
  readonly stats = { statements: 0, rows: 0 }

  constructor(
    private readonly db: Pick<Database, 'query'>,
    private readonly maxInFlight = 2,
    private readonly maxRows = 20_000,
  ) {}

  /** Resolves once every row of `rows` is committed. */
  write(rows: TelemetryRows): Promise<void> {
    const q = this.rows
    // push(...x) would hit the argument limit on large batches; plain loops are as fast.
    for (let i = 0; i < rows.deviceIds.length; i++) {
      q.deviceIds.push(rows.deviceIds[i]!)
      q.metrics.push(rows.metrics[i]!)
      q.values.push(rows.values[i]!)
      q.units.push(rows.units[i] ?? null)
      q.timestamps.push(rows.timestamps[i]!)
    }
    const end = q.deviceIds.length
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject, end }))
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
    this.scheduled = true
    // setImmediate lets every request parsed in this turn of the event loop join the statement.
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush(): void {
    if (this.waiters.length === 0 || this.inFlight >= this.maxInFlight) return
    let rows = this.rows
    let waiters = this.waiters
    if (rows.deviceIds.length > this.maxRows && waiters.length > 1) {
      ;({ rows, waiters } = this.takeFront())
    } else {
      this.rows = emptyRows()
      this.waiters = []
    }
    this.inFlight++
    const count = rows.deviceIds.length
    this.db
      .query(INSERT_SQL, [rows.deviceIds, rows.metrics, rows.values, rows.units, rows.timestamps])
      .then(
        () => {
          this.stats.statements++
          this.stats.rows += count
          for (const w of waiters) w.resolve()
        },
        (err) => {
          for (const w of waiters) w.reject(err)
        },
      )
      .finally(() => {
        this.inFlight--
        this.schedule()
        if (this.inFlight === 0 && this.waiters.length === 0) for (const fn of this.idle.splice(0)) fn()
      })
    this.schedule()
  }

  /** The first requests holding about maxRows rows; the rest stay queued for the next statement. */
  private takeFront(): { rows: TelemetryRows; waiters: Waiter[] } {
    let k = 0
    while (k < this.waiters.length - 1 && this.waiters[k]!.end < this.maxRows) k++
    const cut = this.waiters[k]!.end
    const waiters = this.waiters.splice(0, k + 1)
    for (const w of this.waiters) w.end -= cut
    const q = this.rows
    const rows: TelemetryRows = {
      deviceIds: q.deviceIds.splice(0, cut),
      metrics: q.metrics.splice(0, cut),
      values: q.values.splice(0, cut),
      units: q.units.splice(0, cut),
      timestamps: q.timestamps.splice(0, cut),
    }
    return { rows, waiters }
  }
}
