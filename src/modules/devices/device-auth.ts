/**
 * One check of a device key for every transport that accepts one (HTTP ingestion and command
 * polling, MQTT CONNECT): the identifier finds the device through the directory cache, the
 * secret is compared with its stored hash in constant time.
 */
import type { DeviceDirectory, DeviceInfo } from './device-directory.js'
import { deviceSecretMatches, parseDeviceKey } from './device-key.js'

/** The device of a raw `whd_…` key, or null when the key is malformed or wrong. */
export async function deviceOfKey(directory: DeviceDirectory, raw: string | undefined): Promise<DeviceInfo | null> {
  const key = raw ? parseDeviceKey(raw) : undefined
  if (!key) return null
  const device = await directory.byKeyIdentifier(key.identifier)
  return device && deviceSecretMatches(key.secret, device.keySecretHash) ? device : null
}
