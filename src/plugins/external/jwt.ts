/**
 * @fastify/jwt for socket tokens. The verifier is configured once here (HS256 only, fixed issuer
 * and audience) so `app.jwt.verify(token)` never builds a verifier per call and never accepts
 * `alg: none` or another algorithm. In embedded mode without SOCKET_TOKEN_SECRET, a random secret
 * is generated once and kept in DATA_DIR, so tokens survive restarts.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import { hs256Signer, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../modules/auth/socket-tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signs socket-token claims as HS256 with the secret `app.jwt` verifies with (the secret itself is not exposed). */
    signSocketJwt: (claims: object) => string
  }
}

export function embeddedSecret(dataDir: string): string {
  const file = join(dataDir, 'socket-token.secret')
  try {
    const existing = readFileSync(file, 'utf8').trim()
    if (existing.length >= 32) return existing
  } catch {
    /* first start */
  }
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(48).toString('base64url')
  writeFileSync(file, secret + '\n', { mode: 0o600 })
  return secret
}

export default fp(
  async function jwtPlugin(app) {
    const cfg = app.config
    const secret = cfg.SOCKET_TOKEN_SECRET ?? embeddedSecret(cfg.DATA_DIR)
    app.decorate('signSocketJwt', hs256Signer(secret))
    await app.register(jwt, {
      secret,
      // @fastify/jwt reads a numeric expiresIn as seconds (it converts to ms for fast-jwt itself);
      // passing milliseconds made tokens live 1000 times longer than SOCKET_TOKEN_TTL.
      sign: { algorithm: 'HS256', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, expiresIn: cfg.SOCKET_TOKEN_TTL },
      verify: {
        algorithms: ['HS256'],
        allowedIss: TOKEN_ISSUER,
        allowedAud: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'nbf', 'jti', 'iss', 'aud'],
      },
    })
  },
  { name: 'jwt', dependencies: ['config'] },
)
