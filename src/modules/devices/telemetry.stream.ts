/**
 * History-then-live telemetry for one channel subscription: a subscribe with `history` (the
 * last N readings, readings since a time, or readings after an offset) and/or `snapshot` (the
 * latest value of every metric) gets those first, then live updates, with no gap and no
 * duplicate at the seam.
 *
 * How the seam holds: the live hub subscription is attached BEFORE the history query, with a
 * filter that holds back every live payload while the query runs. The query reads the device's
 * current offset and the readings up to it in one statement (one snapshot), so each reading is
 * either in the history (committed before) or published after the subscription existed (held
 * back). Once the history is sent, the held payloads with a greater offset are sent in order and
 * the filter lets through only offsets past the history's last one. Every frame carries the
 * reading's offset, so a reconnecting client resumes with `since_offset` = the last it saw.
 *
 * Live telemetry stays droppable: a reader too slow to keep up may get collapsed updates (an
 * offset jump it can see and fill with `since_offset`).
 */
import Type, { type Static } from 'typebox'
import type { Database } from '../../db/database.js'
import type { Connection } from '../realtime/connection.js'
import { telemetryCodec, telemetryVariant, type MetricSample, type TelemetryPayload } from './devices.messages.js'
import { latestValues } from './telemetry.history.js'
import { parseTimestamp } from './telemetry.normalize.js'

/** Most readings one history request returns (the most recent ones when more match). */
export const MAX_HISTORY_READINGS = 10_000
/** Readings per `telemetry_history` frame. */
export const HISTORY_CHUNK = 500

export const HistoryRequest = Type.Object(
  {
    last: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_READINGS, description: 'the latest N readings' })),
    since: Type.Optional(Type.String({ maxLength: 40, description: 'readings from the first at or after this ISO 8601 time, in offset order' })),
    since_offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'readings after this offset (resume: the last offset seen)' })),
  },
  { additionalProperties: false, description: 'exactly one of last, since, since_offset; telemetry with device_id only' },
)
export type HistoryRequest = Static<typeof HistoryRequest>

export type HistoryStart = { kind: 'last'; n: number } | { kind: 'since'; ms: number } | { kind: 'offset'; after: number }

/** The request → where the history starts, or a message naming the problem. */
export function historyStart(h: HistoryRequest): HistoryStart | string {
  const given = [h.last, h.since, h.since_offset].filter((v) => v !== undefined).length
  if (given !== 1) return 'history takes exactly one of last, since or since_offset.'
  if (h.last !== undefined) return { kind: 'last', n: h.last }
  if (h.since_offset !== undefined) return { kind: 'offset', after: h.since_offset }
  const ms = parseTimestamp(h.since!, null)
  if (typeof ms === 'string') return `history.since ${ms}.`
  return { kind: 'since', ms }
}

export const TelemetryHistoryMessage = Type.Object({
  type: Type.Literal('telemetry_history'),
  channel: Type.Literal('telemetry'),
  device_id: Type.Integer(),
  readings: Type.Array(Type.Object({ offset: Type.Integer(), telemetry: Type.Record(Type.String(), Type.Object({ value: Type.Number(), unit: Type.Union([Type.String(), Type.Null()]), timestamp: Type.String() })) })),
  complete: Type.Boolean({ description: 'true on the last history frame: live updates follow' }),
  last_offset: Type.Integer({ description: "the device's offset the history reaches; live updates continue after it" }),
  truncated: Type.Boolean({ description: `more than ${MAX_HISTORY_READINGS} readings matched: these are the most recent` }),
})

export const TelemetrySnapshotMessage = Type.Object({
  type: Type.Literal('telemetry_snapshot'),
  channel: Type.Literal('telemetry'),
  device_id: Type.Integer(),
  latest: Type.Record(Type.String(), Type.Object({ value: Type.Number(), unit: Type.Union([Type.String(), Type.Null()]), timestamp: Type.String(), offset: Type.Integer() })),
})

interface Row {
  seq: string | number
  metric: string
  value: number
  unit: string | null
  ts: Date | string
  cur: string | number
  lo: string | number
}

/** The readings of `start` up to the device's current offset, read in one statement. */
export async function readHistory(db: Pick<Database, 'query'>, deviceId: number, start: HistoryStart, metrics: readonly string[] | null) {
  const params: unknown[] = [deviceId]
  let lo: string
  if (start.kind === 'offset') {
    params.push(start.after)
    lo = '$2::bigint + 1'
  } else if (start.kind === 'last') {
    params.push(start.n)
    lo = '(select telemetry_offset from cur) - $2 + 1'
  } else {
    params.push(new Date(start.ms).toISOString())
    lo = `coalesce((select min(seq) from telemetry where device_id = $1 and ts >= $2), (select telemetry_offset from cur) + 1)`
  }
  params.push(MAX_HISTORY_READINGS)
  const metricCond = metrics ? ` and metric = any($${params.push(metrics)}::text[])` : ''
  const rows = await db.query<Row>(
    `with cur as (select telemetry_offset from devices where id = $1),
          win as (select (select telemetry_offset from cur) as cur,
                         greatest(${lo}, (select telemetry_offset from cur) - $3 + 1, 1) as lo,
                         (${lo}) as asked)
     select w.cur, w.asked as lo, t.seq, t.metric, t.value, t.unit, t.ts
       from win w left join telemetry t
         on t.device_id = $1 and t.seq >= w.lo and t.seq <= w.cur${metricCond}
      order by t.seq, t.metric`,
    params,
  )
  const cur = Number(rows[0]?.cur ?? 0)
  const asked = Number(rows[0]?.lo ?? 1)
  const readings: Array<{ offset: number; telemetry: Record<string, MetricSample> }> = []
  for (const r of rows) {
    if (r.seq === null || r.seq === undefined) continue
    const offset = Number(r.seq)
    let last = readings[readings.length - 1]
    if (!last || last.offset !== offset) {
      last = { offset, telemetry: {} }
      readings.push(last)
    }
    last.telemetry[r.metric] = { value: Number(r.value), unit: r.unit, timestamp: new Date(r.ts).toISOString() }
  }
  return { readings, lastOffset: cur, truncated: cur - Math.max(asked, 1) + 1 > MAX_HISTORY_READINGS }
}

/** Holds back live payloads while the history is read, then lets through only what follows it. */
export class Seam {
  private held: TelemetryPayload[] | null = []
  private floor = Number.POSITIVE_INFINITY

  /** The hub subscription's filter. */
  readonly filter = (payload: unknown): boolean => {
    const p = payload as TelemetryPayload
    if (this.held) {
      this.held.push(p)
      return false
    }
    return p.offset > this.floor
  }

  /** History sent up to `lastOffset`: the held payloads that follow it, in order; live from now on. */
  open(lastOffset: number): TelemetryPayload[] {
    const held = this.held ?? []
    this.held = null
    this.floor = lastOffset
    return held.filter((p) => p.offset > lastOffset).sort((a, b) => a.offset - b.offset)
  }
}

export function createTelemetryStream(deps: { db: Pick<Database, 'query'> }) {
  const { db } = deps
  async function currentOffset(deviceId: number): Promise<number> {
    const [r] = await db.query<{ o: string | number }>('select telemetry_offset as o from devices where id = $1', [deviceId])
    return Number(r?.o ?? 0)
  }
  return {
    /** The hub variant of a history-then-live subscription (its frames carry offsets). */
    variant: (metrics: readonly string[] | null) => telemetryVariant(metrics ?? undefined, true),

    /**
     * Sends the snapshot and/or history of one device to `conn`, then the held live payloads;
     * `seam` must be the filter of the live subscription. History frames wait for the socket
     * to drain below `drainBytes` (must-deliver, but a big history must not trip the backlog
     * limit).
     */
    async deliver(o: {
      conn: Pick<Connection, 'sendText' | 'bufferedAmount' | 'closed'>
      deviceId: number
      seam: Seam
      start: HistoryStart | null
      snapshot: boolean
      metrics: readonly string[] | null
      drainBytes?: number
    }): Promise<void> {
      const drain = o.drainBytes ?? 256 * 1024
      const send = async (text: string) => {
        while (!o.conn.closed && o.conn.bufferedAmount > drain) await new Promise((r) => setTimeout(r, 5))
        o.conn.sendText(text)
      }
      const variant = telemetryVariant(o.metrics ?? undefined, true)
      const sendLive = (p: TelemetryPayload) => {
        const text = telemetryCodec.encode(p, variant)
        if (text !== null) o.conn.sendText(text)
      }
      try {
        // Snapshot only: live continues after the offset read BEFORE the latest values, so a
        // reading committed meanwhile is sent live (at worst also in the snapshot), never lost.
        let lastOffset = o.start ? 0 : await currentOffset(o.deviceId)
        if (o.snapshot) {
          const latest: Record<string, MetricSample & { offset: number }> = {}
          for (const l of await latestValues(db, o.deviceId)) {
            if (!o.metrics || o.metrics.includes(l.metric)) latest[l.metric] = { value: l.value, unit: l.unit, timestamp: l.timestamp, offset: l.offset }
          }
          await send(JSON.stringify({ type: 'telemetry_snapshot', channel: 'telemetry', device_id: o.deviceId, latest }))
        }
        if (o.start) {
          const h = await readHistory(db, o.deviceId, o.start, o.metrics)
          lastOffset = h.lastOffset
          const chunks = Math.max(1, Math.ceil(h.readings.length / HISTORY_CHUNK))
          for (let i = 0; i < chunks; i++) {
            const readings = h.readings.slice(i * HISTORY_CHUNK, (i + 1) * HISTORY_CHUNK)
            const complete = i === chunks - 1
            await send(JSON.stringify({ type: 'telemetry_history', channel: 'telemetry', device_id: o.deviceId, readings, complete, last_offset: lastOffset, truncated: h.truncated }))
          }
        }
        for (const p of o.seam.open(lastOffset)) sendLive(p)
      } catch (err) {
        // Live updates must not stay held back because the history failed.
        for (const p of o.seam.open(Number.NEGATIVE_INFINITY)) sendLive(p)
        throw err
      }
    },
  }
}

export type TelemetryStream = ReturnType<typeof createTelemetryStream>
