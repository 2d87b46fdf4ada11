/**
 * Who is making a request: resolved once per request from an API key or the session cookie,
 * before rate limiting (so limits are per key) and before any guard.
 */
import type { KeyType } from './api-key.format.js'

export interface AuthUser {
  id: number
  uuid: string
  email: string
  rootAdmin: boolean
}

export type Principal =
  | { via: 'key'; user: AuthUser; keyId: number; keyType: KeyType; identifier: string; rateKey: string }
  | { via: 'session'; user: AuthUser; sessionId: number; rateKey: string }

/** Why a presented credential was refused (logged and counted, never shown in detail). */
export type AuthFailure = 'malformed' | 'unknown' | 'revoked' | 'ip_not_allowed' | 'expired'

/** A stable reference to the credential a socket token was issued from, for revocation. */
export function credentialRef(p: Principal): string {
  return p.via === 'key' ? `k:${p.keyId}` : `s:${p.sessionId}`
}

/** `Authorization: Bearer <token>` → the token (trailing spaces allowed), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
}

/** Splits a `credentialRef` back into its kind and id (undefined when malformed). */
export function parseCredentialRef(ref: string): { kind: 'key' | 'session'; id: number } | undefined {
  const m = /^([ks]):(\d{1,10})$/.exec(ref)
  return m ? { kind: m[1] === 'k' ? 'key' : 'session', id: Number(m[2]) } : undefined
}
