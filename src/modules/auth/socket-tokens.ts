/**
 * Short-lived socket tokens (HS256 JWTs through @fastify/jwt), with Pterodactyl's claims:
 * iss, aud, jti, iat, nbf, exp, user_uuid, permissions, scope, and server_uuid for console
 * tokens. `cred` names the API key or session the token came from, so revoking that credential
 * also revokes its tokens. The verifier pins HS256, issuer and audience (registered once in
 * plugins/external/jwt.ts, so no verifier is built per call) and checks the scope here.
 *
 * Signing is done here rather than by fast-jwt: the credential endpoint signs on every call, and
 * fast-jwt's signer (option merging, header JSON and an HMAC key built from the string secret on
 * each call) measured ~10 µs per token against ~3.5 µs for a fixed header and an HMAC KeyObject
 * made once. The tokens are ordinary HS256 JWTs that fast-jwt verifies.
 *
 * Console tokens' issue times are also kept to the millisecond for one token lifetime
 * (`issuedAtMs`): the claims carry seconds, and Wings' denylist refuses a token issued before
 * the user's access last changed, which can be within the same second.
 */
import { createHmac, createSecretKey, randomUUID } from 'node:crypto'
import type { JWT } from '@fastify/jwt'

/** Issuer and audience of every socket token (constant, so any instance of a cluster accepts them). */
export const TOKEN_ISSUER = 'wirehub'
export const TOKEN_AUDIENCE = 'wirehub-sockets'

export type TokenScope = 'console' | 'channels'

export interface SocketTokenClaims {
  iss: string
  aud: string
  jti: string
  iat: number
  nbf: number
  exp: number
  user_uuid: string
  user_id: number
  permissions: string[]
  scope: TokenScope
  cred: string
  server_uuid?: string
}

export type TokenFailure = 'token_expired' | 'not_yet_valid' | 'invalid_token' | 'wrong_scope'

export type VerifyResult = { ok: true; claims: SocketTokenClaims } | { ok: false; reason: TokenFailure }

/** base64url of `{"alg":"HS256","typ":"JWT"}` and the dot after it. */
const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url') + '.'

/** An HS256 signer over a key made once (the secret is the one @fastify/jwt verifies with). */
export function hs256Signer(secret: string): (claims: object) => string {
  const key = createSecretKey(Buffer.from(secret, 'utf8'))
  return (claims) => {
    const signingInput = HS256_HEADER + Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')
    return signingInput + '.' + createHmac('sha256', key).update(signingInput).digest('base64url')
  }
}

export function createSocketTokens(jwt: JWT, signJwt: (claims: object) => string, ttlSec: number) {
  /** jti → issue time in ms, in issue order (so the expired ones are always at the front). */
  const issued = new Map<string, number>()
  function remember(jti: string, atMs: number): void {
    const cutoff = atMs - ttlSec * 1000 - 60_000
    for (const [old, at] of issued) {
      if (at >= cutoff) break
      issued.delete(old)
    }
    issued.set(jti, atMs)
  }
  return {
    ttlSec,
    sign(input: {
      userUuid: string
      userId: number
      permissions: string[]
      scope: TokenScope
      cred: string
      serverUuid?: string
    }): string {
      const nowMs = Date.now()
      const now = Math.floor(nowMs / 1000)
      const claims: SocketTokenClaims = {
        iss: TOKEN_ISSUER,
        aud: TOKEN_AUDIENCE,
        jti: randomUUID(),
        iat: now,
        nbf: now,
        exp: now + ttlSec,
        user_uuid: input.userUuid,
        user_id: input.userId,
        permissions: input.permissions,
        scope: input.scope,
        cred: input.cred,
        ...(input.serverUuid ? { server_uuid: input.serverUuid } : {}),
      }
      if (input.scope === 'console') remember(claims.jti, nowMs)
      return signJwt(claims)
    },

    /** When this instance signed the token, to the millisecond (else its `iat`). */
    issuedAtMs(claims: SocketTokenClaims): number {
      return issued.get(claims.jti) ?? claims.iat * 1000
    },

    verify(token: unknown, scope: TokenScope): VerifyResult {
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
        return { ok: false, reason: 'invalid_token' }
      }
      let claims: SocketTokenClaims
      try {
        claims = jwt.verify<SocketTokenClaims>(token)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'FAST_JWT_EXPIRED') return { ok: false, reason: 'token_expired' }
        if (code === 'FAST_JWT_INACTIVE') return { ok: false, reason: 'not_yet_valid' }
        return { ok: false, reason: 'invalid_token' }
      }
      if (claims.scope !== scope) return { ok: false, reason: 'wrong_scope' }
      if (typeof claims.user_uuid !== 'string' || !Array.isArray(claims.permissions) || typeof claims.cred !== 'string') {
        return { ok: false, reason: 'invalid_token' }
      }
      return { ok: true, claims }
    },
  }
}

export type SocketTokens = ReturnType<typeof createSocketTokens>
