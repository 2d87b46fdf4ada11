/**
 * Device keys: the credential a device presents to ingest telemetry. Same shape as API keys
 * (`whd_` + 12 public characters, then a 32-character secret) so the identifier finds the row
 * and only a SHA-256 of the secret is stored. A device key is not an API key: it carries no user
 * principal and is accepted only by the ingestion route of its own device.
 */
import { hashSecret, secretMatches, IDENTIFIER_LENGTH, SECRET_LENGTH } from '../auth/api-key.format.js'
import { randomToken } from '../auth/password.js'
import { bearerToken } from '../auth/principal.js'

export const DEVICE_KEY_PREFIX = 'whd_'
const DEVICE_KEY_RE = /^whd_[A-Za-z0-9]{12}[A-Za-z0-9]{32}$/

export interface ParsedDeviceKey {
  identifier: string
  secret: string
}

export function parseDeviceKey(raw: string): ParsedDeviceKey | undefined {
  if (raw.length !== IDENTIFIER_LENGTH + SECRET_LENGTH || !DEVICE_KEY_RE.test(raw)) return undefined
  return { identifier: raw.slice(0, IDENTIFIER_LENGTH), secret: raw.slice(IDENTIFIER_LENGTH) }
}

export function generateDeviceKey(): ParsedDeviceKey & { key: string; secretHash: string } {
  const identifier = DEVICE_KEY_PREFIX + randomToken(IDENTIFIER_LENGTH - DEVICE_KEY_PREFIX.length)
  const secret = randomToken(SECRET_LENGTH)
  return { identifier, secret, key: identifier + secret, secretHash: hashSecret(secret) }
}

/** `Authorization: Bearer whd_…` → the parsed key, or undefined. */
export function deviceKeyFromHeader(header: string | undefined): ParsedDeviceKey | undefined {
  const token = bearerToken(header)
  return token ? parseDeviceKey(token) : undefined
}

export { secretMatches as deviceSecretMatches }
