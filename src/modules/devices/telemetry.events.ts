/**
 * "Telemetry stored": the domain event ingestion emits once a request's readings are committed
 * and published. Other modules (alert rules) react to it without ingestion knowing them.
 *
 * Unlike the fire-and-forget `DomainEvents`, listeners here may return a promise and ingestion
 * awaits every one before the device gets its receipt: an alert raised by the readings is stored
 * by the time the device (or a test) sees 201. A listener's failure is its own to log; it never
 * fails the ingestion of readings that are already stored.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { DeviceInfo } from './device-directory.js'
import type { MetricSample } from './devices.messages.js'

export interface TelemetryStored {
  device: DeviceInfo
  /** The stored readings in order, each a metric → sample map. */
  readings: ReadonlyArray<Record<string, MetricSample>>
  /** When they were stored (ms since the epoch). */
  at: number
  /** Offset of the first reading; reading i has firstOffset + i. */
  firstOffset: number
}

export type TelemetryStoredListener = (event: TelemetryStored) => void | Promise<void>

export class TelemetryEvents {
  private readonly listeners: TelemetryStoredListener[] = []

  constructor(private readonly log: FastifyBaseLogger) {}

  onStored(listener: TelemetryStoredListener): void {
    this.listeners.push(listener)
  }

  /** Calls every listener; resolves when all have settled. */
  async stored(event: TelemetryStored): Promise<void> {
    const n = this.listeners.length
    if (n === 0) return
    if (n === 1) return this.run(this.listeners[0]!, event)
    await Promise.all(this.listeners.map((l) => this.run(l, event)))
  }

  private async run(listener: TelemetryStoredListener, event: TelemetryStored): Promise<void> {
    try {
      await listener(event)
    } catch (err) {
      this.log.warn({ err, deviceId: event.device.id }, 'a telemetry listener failed')
    }
  }
}
