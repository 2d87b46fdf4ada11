/**
 * Telemetry partition maintenance and retention, run at start-up and every RETENTION_INTERVAL.
 *
 *  - Partitions: one per UTC day of reading time (`telemetry_pYYYYMMDD`), created from today to
 *    TELEMETRY_PARTITIONS_AHEAD days ahead, so a reading always has a day to land in (readings
 *    are accepted up to one day ahead). Past days never get a new partition: a back-filled
 *    reading older than every partition lands in `telemetry_default`.
 *  - Telemetry retention: the longest retention any device needs (TELEMETRY_RETENTION, or a
 *    device's `telemetry_retention_days` when longer) decides which whole days are dropped — a
 *    DROP TABLE per day, constant time, no VACUUM debt. Devices with a shorter retention than
 *    that lose their older rows by an indexed DELETE, as do the default partition and the
 *    rollups (which are 60–3600× smaller than the readings).
 *  - Other retention: server activity logs, device status events and resolved alerts.
 *
 * Every step is idempotent, so instances sharing a database may all run it.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../../db/database.js'

const DAY_MS = 86_400_000

export interface RetentionOptions {
  telemetryDays: number
  partitionsAhead: number
  activityDays: number
  deviceEventsDays: number
  resolvedAlertsDays: number
}

export interface RetentionReport {
  created: string[]
  dropped: string[]
  deleted: { telemetry: number; rollups: number; activity: number; deviceEvents: number; alerts: number }
}

/** `telemetry_p20261202` ↔ the UTC day starting at that date. */
export const partitionName = (dayMs: number) => `telemetry_p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`
export function partitionDay(name: string): number | null {
  const m = /^telemetry_p(\d{4})(\d{2})(\d{2})$/.exec(name)
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null
}

const count = (rows: Array<{ n: string | number }>) => Number(rows[0]?.n ?? 0)

export function createTelemetryRetention(deps: { db: Pick<Database, 'query'>; log: FastifyBaseLogger; options: RetentionOptions }) {
  const { db, log, options: o } = deps
  let timer: NodeJS.Timeout | null = null
  let running: Promise<RetentionReport> | null = null

  async function partitions(): Promise<string[]> {
    const rows = await db.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'telemetry'::regclass order by 1`,
    )
    return rows.map((r) => r.name)
  }

  async function createAhead(now: number, existing: Set<string>): Promise<string[]> {
    const created: string[] = []
    const today = Math.floor(now / DAY_MS) * DAY_MS
    for (let d = 0; d <= o.partitionsAhead; d++) {
      const day = today + d * DAY_MS
      const name = partitionName(day)
      if (existing.has(name)) continue
      try {
        await db.query(
          `create table if not exists "${name}" partition of telemetry for values from ('${new Date(day).toISOString()}') to ('${new Date(day + DAY_MS).toISOString()}')`,
        )
        created.push(name)
      } catch (err) {
        // Another instance created it meanwhile (a race IF NOT EXISTS does not cover).
        if ((err as { code?: string }).code !== '42P07') throw err
      }
    }
    return created
  }

  /** Runs every step once; concurrent calls share the run. */
  function run(now = Date.now()): Promise<RetentionReport> {
    running ??= runOnce(now).finally(() => {
      running = null
    })
    return running
  }

  async function runOnce(now: number): Promise<RetentionReport> {
    const report: RetentionReport = { created: [], dropped: [], deleted: { telemetry: 0, rollups: 0, activity: 0, deviceEvents: 0, alerts: 0 } }
    const existing = await partitions()
    report.created = await createAhead(now, new Set(existing))

    // The longest retention anyone needs; 0 (forever) anywhere in use means nothing is dropped.
    const [r] = await db.query<{ forever: boolean; longest: number | null }>(
      `select bool_or(coalesce(telemetry_retention_days, $1) = 0) as forever, max(coalesce(telemetry_retention_days, $1)) as longest from devices`,
      [o.telemetryDays],
    )
    const forever = r?.forever ?? o.telemetryDays === 0
    const longest = Math.max(o.telemetryDays, r?.longest ?? 0)
    if (!forever && longest > 0) {
      const cutoff = now - longest * DAY_MS
      for (const name of existing) {
        const day = partitionDay(name)
        if (day === null || day + DAY_MS > cutoff) continue
        await db.query(`drop table if exists "${name}"`)
        report.dropped.push(name)
      }
      const iso = new Date(cutoff).toISOString()
      report.deleted.telemetry += count(await db.query(`with d as (delete from telemetry_default where ts < $1 returning 1) select count(*) as n from d`, [iso]))
      for (const t of ['telemetry_1m', 'telemetry_1h']) {
        report.deleted.rollups += count(await db.query(`with d as (delete from ${t} where bucket < $1 returning 1) select count(*) as n from d`, [iso]))
      }
    }
    // Devices that keep less than the longest retention: their older rows go by DELETE.
    const shorter = await db.query<{ id: number; days: number }>(
      `select id, coalesce(telemetry_retention_days, $1) as days from devices
        where coalesce(telemetry_retention_days, $1) > 0 and ($2 or coalesce(telemetry_retention_days, $1) < $3)`,
      [o.telemetryDays, forever, longest],
    )
    for (const dev of shorter) {
      const iso = new Date(now - dev.days * DAY_MS).toISOString()
      report.deleted.telemetry += count(await db.query(`with d as (delete from telemetry where device_id = $1 and ts < $2 returning 1) select count(*) as n from d`, [dev.id, iso]))
      for (const t of ['telemetry_1m', 'telemetry_1h']) {
        // An hour bucket is removed once it ends before the cutoff (never cut in half).
        const width = t === 'telemetry_1h' ? '1 hour' : '1 minute'
        report.deleted.rollups += count(
          await db.query(`with d as (delete from ${t} where device_id = $1 and bucket + interval '${width}' <= $2 returning 1) select count(*) as n from d`, [dev.id, iso]),
        )
      }
    }

    const older = (days: number) => new Date(now - days * DAY_MS).toISOString()
    if (o.activityDays > 0) {
      report.deleted.activity = count(await db.query(`with d as (delete from activity_logs where created_at < $1 returning 1) select count(*) as n from d`, [older(o.activityDays)]))
    }
    if (o.deviceEventsDays > 0) {
      report.deleted.deviceEvents = count(
        await db.query(`with d as (delete from device_status_events where created_at < $1 returning 1) select count(*) as n from d`, [older(o.deviceEventsDays)]),
      )
    }
    if (o.resolvedAlertsDays > 0) {
      report.deleted.alerts = count(
        await db.query(`with d as (delete from alerts where status = 'resolved' and resolved_at < $1 returning 1) select count(*) as n from d`, [older(o.resolvedAlertsDays)]),
      )
    }
    if (report.created.length || report.dropped.length) log.info({ created: report.created, dropped: report.dropped }, 'telemetry partitions maintained')
    return report
  }

  return {
    run,
    partitions,
    start(intervalSec: number): Promise<RetentionReport> {
      timer = setInterval(() => {
        run().catch((err: unknown) => log.error({ err }, 'telemetry retention failed'))
      }, intervalSec * 1000)
      timer.unref()
      return run()
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = null
      await running?.catch(() => {})
    },
  }
}

export type TelemetryRetention = ReturnType<typeof createTelemetryRetention>
