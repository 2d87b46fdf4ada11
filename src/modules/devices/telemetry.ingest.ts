/**
 * The ingestion path: a body in any accepted form → checked readings (telemetry.normalize.ts)
 * → column rows → group-committed statement (offsets, partitioned rows, rollups) → (after the
 * commit) device liveness, the metric catalogue, one `telemetry_update` per reading (carrying
 * its offset) published to the device, owner and admin topics in a single hub publication, and
 * the "telemetry stored" event (alert rules listen). The HTTP reply is sent after all of this,
 * so a subscriber has the update no later than the device has its receipt, and an alert raised
 * by the readings is stored before the receipt too.
 *
 * `store` is the transport-neutral entry point (HTTP and others): readings already checked,
 * resolved once they are committed and published.
 */
import type { Hub } from '../realtime/hub.js'
import { TELEMETRY_CODEC, type MetricSample, type TelemetryPayload } from './devices.messages.js'
import { deviceTopics } from './devices.topics.js'
import type { DeviceInfo } from './device-directory.js'
import type { DeviceStatusService } from './device-status.service.js'
import type { MetricCatalogue } from './metric-catalogue.js'
import type { TelemetryEvents } from './telemetry.events.js'
import { normalizeIngestBody } from './telemetry.normalize.js'
import { emptyRows, type TelemetryWriter } from './telemetry.writer.js'

export interface IngestResult {
  readings: number
  stored: number
  /** Offset of the first stored reading (the others follow); null when the device was deleted meanwhile. */
  firstOffset: number | null
}

export interface IngestDeps {
  hub: Hub
  writer: TelemetryWriter
  status: DeviceStatusService
  events: TelemetryEvents
  catalogue: MetricCatalogue
  maxReadings: number
}

export function createIngestService(deps: IngestDeps) {
  const { hub, writer, status, events, catalogue } = deps

  async function store(device: DeviceInfo, samples: ReadonlyArray<Record<string, MetricSample>>): Promise<IngestResult> {
    const rows = emptyRows()
    for (let i = 0; i < samples.length; i++) {
      const reading = samples[i]!
      for (const metric in reading) {
        const s = reading[metric]!
        rows.deviceIds.push(device.id)
        rows.readings.push(i)
        rows.metrics.push(metric)
        rows.values.push(s.value)
        rows.units.push(s.unit)
        rows.timestamps.push(s.timestamp)
      }
    }
    const firstOffset = await writer.write(rows, samples.length)
    if (firstOffset === null) return { readings: samples.length, stored: 0, firstOffset }
    const now = Date.now()
    status.seen(device, now)
    // Published in the same turn as the commit is known: the writer resolves one device's
    // statements in offset order, so its updates leave in offset order too.
    const topics = deviceTopics('telemetry', device.id, device.ownerId)
    for (let i = 0; i < samples.length; i++) {
      const payload: TelemetryPayload = { device_id: device.id, offset: firstOffset + i, telemetry: samples[i]! }
      hub.publish({ topics, codec: TELEMETRY_CODEC, payload, lane: 'droppable', collapseKey: `t:${device.id}` })
    }
    await catalogue.learn(device.id, samples, now)
    await events.stored({ device, readings: samples, at: now, firstOffset })
    return { readings: samples.length, stored: rows.deviceIds.length, firstOffset }
  }

  return {
    /** Checks a body (any accepted form; throws ReadingError naming the field), then stores it. */
    ingest(device: DeviceInfo, body: unknown): Promise<IngestResult> {
      return store(device, normalizeIngestBody(body, { maxReadings: deps.maxReadings, units: device.units }))
    },
    store,
  }
}

export type IngestService = ReturnType<typeof createIngestService>
