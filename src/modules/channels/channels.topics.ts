/**
 * Topic names and payload shapes of the IoT channels, shared by the publishers (ingestion,
 * device status, alerts, system status) and the channel sockets that subscribe.
 *
 * Every device message is published ONCE to three topics: the device's own topic (subscribers
 * that filtered on that device), the owner's topic ("all my devices") and `…:all` (root
 * administrators without a device filter). The hub delivers a publication at most once per
 * connection, so a socket subscribed through several of them still gets one message.
 */

export type ChannelName = 'telemetry' | 'alerts' | 'devices' | 'system'
export const CHANNELS: readonly ChannelName[] = ['telemetry', 'alerts', 'devices', 'system']

/** Codec names registered on the hub. */
export const CODEC = {
  telemetry: 'channels.telemetry',
  alert: 'channels.alert',
  deviceStatus: 'channels.device_status',
  system: 'channels.system',
} as const

export const deviceTopic = (channel: Exclude<ChannelName, 'system'>, deviceId: number) => `${channel}:${deviceId}`
export const ownerTopic = (channel: Exclude<ChannelName, 'system'>, userId: number) => `${channel}:u:${userId}`
export const allTopic = (channel: Exclude<ChannelName, 'system'>) => `${channel}:all`
export const systemTopic = (periodMs: number) => `system:${periodMs}`

/** The three topics one device message goes to. */
export function deviceTopics(channel: Exclude<ChannelName, 'system'>, deviceId: number, ownerId: number): string[] {
  return [deviceTopic(channel, deviceId), ownerTopic(channel, ownerId), allTopic(channel)]
}

export interface MetricSample {
  value: number
  unit: string | null
  timestamp: string
}

export interface TelemetryPayload {
  device_id: number
  telemetry: Record<string, MetricSample>
}

export interface AlertPayload {
  alert_id: number
  device_id: number
  severity: string
  title: string
  message: string
  timestamp: string
  alert_type: string
  metadata: Record<string, unknown>
}

export interface DeviceStatusPayload {
  device_id: number
  old_status: string
  new_status: string
  timestamp: string
  reason: string | null
  metadata: Record<string, unknown>
}

export interface SystemStatusPayload {
  metrics: Record<string, number>
  timestamp: string
}
