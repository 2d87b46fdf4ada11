/**
 * The `system_status_update` message of the seed: its topic, payload, schema and codec, owned
 * by the system status publisher. The variant is the sorted, comma-joined subset of system
 * metrics a subscriber asked for ('' = all), so each subset is encoded once per tick.
 */
import Type from 'typebox'
import type { Codec } from '../realtime/hub.js'

/** Codec name registered on the hub. */
export const SYSTEM_CODEC = 'channels.system'

/** One topic per update period some socket asked for (`filters.frequency`). */
export const systemTopic = (periodMs: number) => `system:${periodMs}`

export const SystemStatusMessage = Type.Object({
  type: Type.Literal('system_status_update'),
  channel: Type.Literal('system'),
  metrics: Type.Record(Type.String(), Type.Number(), { description: 'cpu_usage, memory_usage, disk_usage (percent), active_connections' }),
  timestamp: Type.String({ description: 'ISO 8601' }),
})

export interface SystemStatusPayload {
  metrics: Record<string, number>
  timestamp: string
}

export const systemStatusCodec: Codec = {
  encode(payload, variant) {
    const p = payload as SystemStatusPayload
    let metrics: Record<string, number> | null = p.metrics
    if (variant !== '') {
      metrics = null
      for (const name of variant.split(',')) {
        const v = Object.hasOwn(p.metrics, name) ? p.metrics[name] : undefined
        if (v !== undefined) (metrics ??= {})[name] = v
      }
      if (!metrics) return null
    }
    return JSON.stringify({ type: 'system_status_update', channel: 'system', metrics, timestamp: p.timestamp })
  },
}
