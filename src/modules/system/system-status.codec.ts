/**
 * The `system_status_update` message of the seed. The variant is the sorted, comma-joined subset
 * of system metrics a subscriber asked for ('' = all), so each subset is encoded once per tick.
 */
import type { Codec } from '../realtime/hub.js'
import type { SystemStatusPayload } from '../channels/channels.topics.js'

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
