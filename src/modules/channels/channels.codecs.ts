/**
 * Codecs that turn channel payloads into the seed's messages. The hub calls `encode` once per
 * publication per variant: for telemetry and system status the variant is the sorted,
 * comma-joined metric subset a subscriber asked for ('' = every metric), so every subscriber
 * asking for the same subset shares one frame; a subset with nothing to send yields null.
 */
import type { Codec, Hub } from '../realtime/hub.js'
import { systemStatusCodec } from '../system/system-status.codec.js'
import { CODEC, type AlertPayload, type DeviceStatusPayload, type MetricSample, type TelemetryPayload } from './channels.topics.js'

function pick<T>(all: Record<string, T>, variant: string): Record<string, T> | null {
  if (variant === '') return all
  let out: Record<string, T> | null = null
  for (const name of variant.split(',')) {
    const v = Object.hasOwn(all, name) ? all[name] : undefined
    if (v !== undefined) (out ??= {})[name] = v
  }
  return out
}

export const telemetryCodec: Codec = {
  encode(payload, variant) {
    const p = payload as TelemetryPayload
    const telemetry = pick<MetricSample>(p.telemetry, variant)
    if (!telemetry) return null
    return JSON.stringify({ type: 'telemetry_update', channel: 'telemetry', device_id: p.device_id, telemetry })
  },
}

export const alertCodec: Codec = {
  encode(payload) {
    const p = payload as AlertPayload
    return JSON.stringify({
      type: 'alert',
      channel: 'alerts',
      alert_id: p.alert_id,
      device_id: p.device_id,
      severity: p.severity,
      title: p.title,
      message: p.message,
      timestamp: p.timestamp,
      alert_type: p.alert_type,
      metadata: p.metadata,
    })
  },
}

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

export function registerChannelCodecs(hub: Hub): void {
  hub.registerCodec(CODEC.telemetry, telemetryCodec)
  hub.registerCodec(CODEC.alert, alertCodec)
  hub.registerCodec(CODEC.deviceStatus, deviceStatusCodec)
  hub.registerCodec(CODEC.system, systemStatusCodec)
}
