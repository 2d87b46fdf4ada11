/**
 * The metric catalogue of each device (name, unit, first and last seen), learned from what it
 * posts, so device views and the alert-rule editor show the metrics that really exist. Writes
 * are rare: a metric is written when it is new or its unit changed (awaited, so the catalogue
 * is up to date when the device has its receipt), and its last-seen time at most once per
 * `refreshMs` (not awaited). A small in-memory view per device avoids a query per request.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../../db/database.js'
import type { MetricSample } from './devices.messages.js'

interface Known {
  unit: string | null
  writtenAt: number
}

const UPSERT_SQL = `
insert into device_metrics (device_id, metric, unit, first_seen_at, last_seen_at)
select $1, m, u, $4, $4 from unnest($2::text[], $3::text[]) as t(m, u)
  where exists (select 1 from devices where id = $1)
on conflict (device_id, metric) do update set unit = coalesce(excluded.unit, device_metrics.unit), last_seen_at = excluded.last_seen_at`

export function createMetricCatalogue(deps: { db: Pick<Database, 'query'>; log: FastifyBaseLogger; refreshMs?: number; maxDevices?: number }) {
  const { db, log } = deps
  const refreshMs = deps.refreshMs ?? 60_000
  const maxDevices = deps.maxDevices ?? 50_000
  const known = new Map<number, Map<string, Known>>()

  return {
    async learn(deviceId: number, readings: ReadonlyArray<Record<string, MetricSample>>, now: number): Promise<void> {
      let mine = known.get(deviceId)
      if (!mine) {
        if (known.size >= maxDevices) known.delete(known.keys().next().value as number)
        mine = new Map()
        known.set(deviceId, mine)
      }
      const metrics: string[] = []
      const units: Array<string | null> = []
      let urgent = false
      const seen = new Set<string>()
      for (let i = readings.length - 1; i >= 0; i--) {
        const r = readings[i]!
        for (const metric in r) {
          if (seen.has(metric)) continue
          seen.add(metric)
          const unit = r[metric]!.unit
          const k = mine.get(metric)
          const changed = !k || (unit !== null && unit !== k.unit)
          if (!changed && now - k!.writtenAt < refreshMs) continue
          if (changed) urgent = true
          metrics.push(metric)
          units.push(unit)
          mine.set(metric, { unit: unit ?? k?.unit ?? null, writtenAt: now })
        }
      }
      if (metrics.length === 0) return
      const write = db.query(UPSERT_SQL, [deviceId, metrics, units, new Date(now).toISOString()]).then(
        () => undefined,
        (err: unknown) => {
          for (const m of metrics) mine.delete(m)
          log.warn({ err, deviceId }, 'could not update the metric catalogue')
        },
      )
      if (urgent) await write
    },

    /** A device was deleted (or its catalogue changed elsewhere). */
    forget(deviceId: number): void {
      known.delete(deviceId)
    },
  }
}

export type MetricCatalogue = ReturnType<typeof createMetricCatalogue>
