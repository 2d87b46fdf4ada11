/**
 * Short-lived socket tokens (HS256 JWTs through @fastify/jwt), with Pterodactyl's claims:
 * iss, aud, jti, iat, nbf, exp, user_uuid, permissions, scope, and server_uuid for console
 * tokens. `cred` names the API key or session the token came from, so revoking that credential
 * also revokes its tokens. The verifier pins HS256, issuer and audience (registered once in
 * plugins/external/jwt.ts, so no verifier is built per call) and checks the scope here.
 */
import { randomUUID } from 'node:crypto'
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

export function createSocketTokens(jwt: JWT, ttlSec: number) {
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
      const now = Math.floor(Date.now() / 1000)
      const claims: Omit<SocketTokenClaims, 'iss' | 'aud' | 'exp' | 'iat'> = {
        jti: randomUUID(),
        nbf: now,
        user_uuid: input.userUuid,
        user_id: input.userId,
        permissions: input.permissions,
        scope: input.scope,
        cred: input.cred,
        ...(input.serverUuid ? { server_uuid: input.serverUuid } : {}),
      }
      return jwt.sign(claims)
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
