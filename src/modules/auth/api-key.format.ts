/**
 * The API key format, as Pterodactyl's: a 16-character public identifier starting with a type
 * prefix (`whc_` client, `wha_` application) followed by a 32-character secret. The identifier
 * finds the row; only a SHA-256 of the secret is stored (the secret is random, 190 bits, so a
 * fast hash is enough) and compared in constant time.
 */
import { hash, timingSafeEqual } from 'node:crypto'
import { randomToken } from './password.js'

export const KEY_TYPE_CLIENT = 1
export const KEY_TYPE_APPLICATION = 2
export type KeyType = typeof KEY_TYPE_CLIENT | typeof KEY_TYPE_APPLICATION

export const KEY_PREFIX: Record<KeyType, string> = { [KEY_TYPE_CLIENT]: 'whc_', [KEY_TYPE_APPLICATION]: 'wha_' }
export const IDENTIFIER_LENGTH = 16
export const SECRET_LENGTH = 32
export const KEY_LENGTH = IDENTIFIER_LENGTH + SECRET_LENGTH

const KEY_RE = /^(wh[ac]_)[A-Za-z0-9]{12}[A-Za-z0-9]{32}$/

export interface ParsedKey {
  type: KeyType
  identifier: string
  secret: string
}

export function parseKey(raw: string): ParsedKey | undefined {
  const m = KEY_RE.exec(raw)
  if (!m) return undefined
  return {
    type: m[1] === 'wha_' ? KEY_TYPE_APPLICATION : KEY_TYPE_CLIENT,
    identifier: raw.slice(0, IDENTIFIER_LENGTH),
    secret: raw.slice(IDENTIFIER_LENGTH),
  }
}

export function generateKey(type: KeyType): ParsedKey & { key: string } {
  const identifier = KEY_PREFIX[type] + randomToken(IDENTIFIER_LENGTH - 4)
  const secret = randomToken(SECRET_LENGTH)
  return { type, identifier, secret, key: identifier + secret }
}

/**
 * SHA-256 of a secret with the one-shot `crypto.hash` (Node 20.12+; engines require 20.19): no
 * Hash object and stream state per call, about a third of createHash's cost for a 32-byte
 * secret, paid once by every request authenticated with an API or device key.
 */
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer')

export function hashSecret(secret: string): string {
  return sha256(secret).toString('hex')
}

/**
 * Constant-time check of a presented secret against its stored SHA-256 (hex, or the decoded
 * bytes, which callers that check often keep to skip the hex round trips on every request).
 */
export function secretMatches(secret: string, storedHash: string | Buffer): boolean {
  const a = sha256(secret)
  const b = typeof storedHash === 'string' ? Buffer.from(storedHash, 'hex') : storedHash
  return a.length === b.length && timingSafeEqual(a, b)
}
