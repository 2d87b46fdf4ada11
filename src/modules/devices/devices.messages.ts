/**
 * What the devices module publishes on the channel sockets: `telemetry_update` (one stored
 * reading) and `device_status_update` (one recorded status change). The payloads handed to the
 * hub, the outbound message schemas (TypeBox) and the codecs that turn one into the other live
 * together, so the message shape is defined once, by its publisher.
 */
import Type, { type Static } from 'typebox'
import type { Codec, Hub } from '../realtime/hub.js'

/** Codec names registered on the hub. */
export const TELEMETRY_CODEC = 'channels.telemetry'
export const DEVICE_STATUS_CODEC = 'channels.device_status'

export const MetricSampleSchema = Type.Object({
  value: Type.Number(),
  unit: Type.Union([Type.String(), Type.Null()]),
  timestamp: Type.String({ description: 'ISO 8601' }),
})
export type MetricSample = Static<typeof MetricSampleSchema>

export const TelemetryUpdateMessage = Type.Object({
  type: Type.Literal('telemetry_update'),
  channel: Type.Literal('telemetry'),
  device_id: Type.Integer(),
  offset: Type.Optional(Type.Integer({ description: "the reading's offset, per device, increasing by one per stored reading; only on subscriptions that asked for history or offsets (resume with `history.since_offset`)" })),
  telemetry: Type.Record(Type.String(), MetricSampleSchema, { description: 'metric name → reading (only the subscribed metrics)' }),
})

export const DeviceStatusUpdateMessage = Type.Object({
  type: Type.Literal('device_status_update'),
  channel: Type.Literal('devices'),
  device_id: Type.Integer(),
  old_status: Type.String(),
  new_status: Type.String(),
  timestamp: Type.String({ description: 'ISO 8601' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.Unknown()),
})

export interface TelemetryPayload {
  device_id: number
  offset: number
  telemetry: Record<string, MetricSample>
}

export type DeviceStatusPayload = Omit<Static<typeof DeviceStatusUpdateMessage>, 'type' | 'channel'>

function pick<T>(all: Record<string, T>, variant: string): Record<string, T> | null {
  if (variant === '') return all
  let out: Record<string, T> | null = null
  for (const name of variant.split(',')) {
    const v = Object.hasOwn(all, name) ? all[name] : undefined
    if (v !== undefined) (out ??= {})[name] = v
  }
  return out
}

/**
 * The variant is the sorted, comma-joined metric subset a subscriber asked for ('' = every
 * metric), so every subscriber asking for the same subset shares one frame; a subset with
 * nothing to send yields null.
 */
export const telemetryCodec: Codec = {
  encode(payload, variant) {
    const p = payload as TelemetryPayload
    const withOffset = variant.startsWith(OFFSET_VARIANT)
    const telemetry = pick<MetricSample>(p.telemetry, withOffset ? variant.slice(OFFSET_VARIANT.length) : variant)
    if (!telemetry) return null
    if (!withOffset) return JSON.stringify({ type: 'telemetry_update', channel: 'telemetry', device_id: p.device_id, telemetry })
    return JSON.stringify({ type: 'telemetry_update', channel: 'telemetry', device_id: p.device_id, offset: p.offset, telemetry })
  },
}

/**
 * Variant prefix of subscribers that asked for offsets (history-then-live subscriptions): their
 * frames carry `offset`; others get the seed's message unchanged.
 */
export const OFFSET_VARIANT = '+offset|'

/** The hub variant of a telemetry subscription. */
export const telemetryVariant = (metrics: readonly string[] | undefined, withOffset: boolean) => (withOffset ? OFFSET_VARIANT : '') + (metrics?.join(',') ?? '')

export const deviceStatusCodec: Codec = {
  encode(payload) {
    const p = payload as DeviceStatusPayload
    return JSON.stringify({
      type: 'device_status_update',
      channel: 'devices',
      device_id: p.device_id,
      old_status: p.old_status,
      new_status: p.new_status,
      timestamp: p.timestamp,
      reason: p.reason,
      metadata: p.metadata,
    })
  },
}

export function registerDeviceCodecs(hub: Hub): void {
  hub.registerCodec(TELEMETRY_CODEC, telemetryCodec)
  hub.registerCodec(DEVICE_STATUS_CODEC, deviceStatusCodec)
}
