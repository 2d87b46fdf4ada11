/**
 * Topic names of device-scoped messages (telemetry, device status, and the alerts raised about a
 * device). The modules that publish them and the channel sockets that subscribe share these.
 *
 * Every device message is published ONCE to three topics: the device's own topic (subscribers
 * that filtered on that device), the owner's topic ("all my devices") and `…:all` (root
 * administrators without a device filter). The hub delivers a publication at most once per
 * connection, so a socket subscribed through several of them still gets one message.
 */

/** The channels whose messages are about one device (`commands`: published by the commands module). */
export type DeviceChannel = 'telemetry' | 'alerts' | 'devices' | 'commands'

export const deviceTopic = (channel: DeviceChannel, deviceId: number) => `${channel}:${deviceId}`
export const ownerTopic = (channel: DeviceChannel, userId: number) => `${channel}:u:${userId}`
export const allTopic = (channel: DeviceChannel) => `${channel}:all`

/** The three topics one device message goes to. */
export function deviceTopics(channel: DeviceChannel, deviceId: number, ownerId: number): string[] {
  return [deviceTopic(channel, deviceId), ownerTopic(channel, ownerId), allTopic(channel)]
}
