/**
 * History-then-live telemetry of one device, as the SDK keeps it: the subscribe message (the
 * requested history the first time; `since_offset` = the last offset delivered after a
 * reconnect, so nothing is missed or repeated), and every reading handed to the application
 * once, in offset order, history first. The server guarantees no gap and no duplicate at the
 * seam of one subscription; this also drops anything at or below the last delivered offset,
 * which covers the seam between two connections.
 */
import type { MetricReading, StreamReading, TelemetryHistoryFrame, TelemetrySnapshot } from './types.js'

export interface TelemetryStreamOptions {
  /** The latest N readings first (1–10 000). */
  last?: number
  /** Readings since this time first. */
  since?: string | Date
  /** Readings after this offset first (e.g. saved across restarts). */
  sinceOffset?: number
  /** The latest value of every metric first (`onSnapshot`). */
  snapshot?: boolean
  /** Only these metrics. */
  metrics?: string[]
}

export interface TelemetryStreamHandlers {
  /** Every reading once, in offset order: history (`history: true`), then live. */
  onReading(reading: StreamReading): void
  onSnapshot?(snapshot: TelemetrySnapshot): void
  /** The history of the current subscription is complete; live readings follow. */
  onLive?(lastOffset: number): void
}

export class TelemetryFollower {
  /** Highest offset delivered (null: nothing yet). */
  lastOffset: number | null

  constructor(
    readonly deviceId: number,
    private readonly opts: TelemetryStreamOptions,
    private readonly handlers: TelemetryStreamHandlers,
  ) {
    this.lastOffset = opts.sinceOffset ?? null
  }

  /** The subscribe message for this (re)connection. */
  subscribeMessage(): Record<string, unknown> {
    const msg: Record<string, unknown> = { type: 'subscribe', channel: 'telemetry', device_id: this.deviceId }
    if (this.opts.metrics?.length) msg.filters = { metrics: this.opts.metrics }
    if (this.lastOffset !== null) msg.history = { since_offset: this.lastOffset }
    else if (this.opts.last !== undefined) msg.history = { last: this.opts.last }
    else if (this.opts.since !== undefined) msg.history = { since: typeof this.opts.since === 'string' ? this.opts.since : this.opts.since.toISOString() }
    // Without a history request, live only, but with offsets (an empty history from now).
    else msg.history = { last: 1 }
    if (this.opts.snapshot && this.lastOffset === null) msg.snapshot = true
    return msg
  }

  history(frame: TelemetryHistoryFrame): void {
    for (const r of frame.readings) this.deliver(r.offset, r.telemetry, true)
    if (frame.complete) {
      if (this.lastOffset === null || frame.last_offset > this.lastOffset) this.lastOffset = frame.last_offset
      this.handlers.onLive?.(frame.last_offset)
    }
  }

  live(offset: number, telemetry: Record<string, MetricReading>): void {
    this.deliver(offset, telemetry, false)
  }

  snapshot(frame: TelemetrySnapshot): void {
    this.handlers.onSnapshot?.(frame)
  }

  private deliver(offset: number, telemetry: Record<string, MetricReading>, history: boolean): void {
    if (this.lastOffset !== null && offset <= this.lastOffset) return
    this.lastOffset = offset
    this.handlers.onReading({ device_id: this.deviceId, offset, telemetry, history })
  }
}
