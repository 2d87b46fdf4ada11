/**
 * The channels a socket can subscribe to, and the topics behind them. The publishing modules own
 * their topic names (devices for telemetry, device status and alerts about a device; system for
 * the periodic status); the channel sockets subscribe through the names gathered here.
 */
export { allTopic, deviceTopic, ownerTopic } from '../devices/devices.topics.js'
export { systemTopic } from '../system/system-status.codec.js'

export type ChannelName = 'telemetry' | 'alerts' | 'devices' | 'system' | 'commands'
/** `commands` is owned by the commands module (topics and message in commands/commands.topics.ts). */
export const CHANNELS: readonly ChannelName[] = ['telemetry', 'alerts', 'devices', 'system', 'commands']
