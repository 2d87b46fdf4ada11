/**
 * The ingestion path: validated readings → column rows → group-committed INSERT → (after the
 * commit) device liveness, one `telemetry_update` per reading published to the device, owner and
 * admin topics in a single hub publication, and the "telemetry stored" event (alert rules
 * listen). The HTTP reply is sent after all of this, so a subscriber has the update no later
 * than the device has its receipt, and an alert raised by the readings is stored before the
 * receipt too.
 */
import type { Hub } from '../realtime/hub.js'
import { TELEMETRY_CODEC, type MetricSample, type TelemetryPayload } from './devices.messages.js'
import { deviceTopics } from './devices.topics.js'
import type { TelemetryEvents } from './telemetry.events.js'
import type { DeviceInfo } from './device-directory.js'
import type { DeviceStatusService } from './device-status.service.js'
import type { IngestBody } from './devices.schemas.js'
import { emptyRows, type TelemetryWriter } from './telemetry.writer.js'

export interface IngestResult {
  readings: number
  stored: number
}

/** A timestamp the schema accepted as date-time, normalised; `fallback` when absent. */
function isoOf(ts: string | undefined, fallback: string): string {
  if (ts === undefined) return fallback
  return new Date(ts).toISOString()
}

export function createIngestService(deps: { hub: Hub; writer: TelemetryWriter; status: DeviceStatusService; events: TelemetryEvents }) {
  const { hub, writer, status, events } = deps

  return {
    async ingest(device: DeviceInfo, body: IngestBody): Promise<IngestResult> {
      const nowIso = new Date().toISOString()
      const list = body.readings ?? (body.telemetry ? [{ telemetry: body.telemetry }] : [])
      const rows = emptyRows()
      const samples: Array<Record<string, MetricSample>> = new Array(list.length)
      for (let i = 0; i < list.length; i++) {
        const reading = list[i]!
        const readingTs = isoOf((reading as { timestamp?: string }).timestamp, nowIso)
        const out: Record<string, MetricSample> = {}
        for (const metric in reading.telemetry) {
          const s = reading.telemetry[metric]!
          const unit = s.unit ?? device.units[metric] ?? null
          const timestamp = isoOf(s.timestamp, readingTs)
          out[metric] = { value: s.value, unit, timestamp }
          rows.deviceIds.push(device.id)
          rows.metrics.push(metric)
          rows.values.push(s.value)
          rows.units.push(unit)
          rows.timestamps.push(timestamp)
        }
        samples[i] = out
      }
      await writer.write(rows)
      const now = Date.now()
      status.seen(device, now)
      const topics = deviceTopics('telemetry', device.id, device.ownerId)
      for (const telemetry of samples) {
        const payload: TelemetryPayload = { device_id: device.id, telemetry }
        hub.publish({ topics, codec: TELEMETRY_CODEC, payload, lane: 'droppable', collapseKey: `t:${device.id}` })
      }
      await events.stored({ device, readings: samples, at: now })
      return { readings: list.length, stored: rows.deviceIds.length }
    },
  }
}

export type IngestService = ReturnType<typeof createIngestService>
