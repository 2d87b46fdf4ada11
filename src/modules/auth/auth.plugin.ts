/**
 * Authentication for HTTP: resolves the caller (API key in `Authorization: Bearer`, or the
 * session cookie) once per request in a root onRequest hook, before rate limiting; guards then
 * decide per API family. A failed credential is not rejected here, so that the rate limiter
 * still counts it against the caller's IP.
 */
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { Forbidden, NOT_AN_ADMIN, Unauthenticated, WRONG_KEY_FOR_APPLICATION_API, WRONG_KEY_FOR_CLIENT_API } from '../../lib/errors.js'
import { KEY_TYPE_APPLICATION, KEY_TYPE_CLIENT } from './api-key.format.js'
import { createApiKeyService, type ApiKeyService, type KeyAuthResult } from './api-keys.service.js'
import { bearerToken, parseCredentialRef, type AuthFailure, type Principal } from './principal.js'
import { createLoginLimiter } from './login-limiter.js'
import { createSessionService, type SessionService } from './sessions.service.js'
import { createSocketTokens, type SocketTokens } from './socket-tokens.js'
import { CSRF_COOKIE, CSRF_HEADER, CSRF_REFUSED, SESSION_COOKIE, csrfMatches } from './cookies.js'

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeyService
    sessions: SessionService
    socketTokens: SocketTokens
    /** True while the key or session a socket token was issued from (`credentialRef`) is valid. */
    isCredentialActive: (ref: string) => Promise<boolean>
    /** onRequest guard: a client key or a browser session. */
    requireClient: onRequestHookHandler
    /** onRequest guard: an application key of an administrator. */
    requireApplication: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** onRequest guard: an administrator's application key or browser session (managing application keys). */
    requireAdministrator: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    principal: Principal | null
    authFailure: AuthFailure | 'csrf' | null
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export default fp(
  async function authPlugin(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'auth' })
    const apiKeys = createApiKeyService({ prisma: app.prisma, events: app.events, log })
    // A connection of its own: login counters must not queue behind other Redis traffic, and
    // with no offline queue an outage falls through to the database store at once.
    const limiterRedis = cfg.REDIS_URL
      ? new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n) => Math.min(n * 200, 2000) })
      : null
    limiterRedis?.on('error', () => {})
    const loginLimiter = createLoginLimiter({
      prisma: app.prisma,
      redis: limiterRedis,
      redisPrefix: cfg.REDIS_PREFIX,
      maxPerAccount: cfg.LOGIN_MAX_FAILURES,
      maxPerIp: cfg.LOGIN_IP_MAX_FAILURES,
      windowSec: cfg.LOGIN_LOCKOUT,
      log,
    })
    const sessions = createSessionService({
      prisma: app.prisma,
      events: app.events,
      sessionTtlSec: cfg.SESSION_TTL,
      loginLimiter,
    })
    app.decorate('apiKeys', apiKeys)
    app.decorate('isCredentialActive', async (ref: string) => {
      const cred = parseCredentialRef(ref)
      if (!cred) return false
      return cred.kind === 'key' ? apiKeys.isActive(cred.id) : sessions.isActive(cred.id)
    })
    app.decorate('sessions', sessions)
    app.decorate('socketTokens', createSocketTokens(app.jwt, app.signSocketJwt, cfg.SOCKET_TOKEN_TTL))
    app.decorateRequest('principal', null)
    app.decorateRequest('authFailure', null)

    app.events.on('user.deleted', ({ user }) => {
      apiKeys.invalidate({ userId: user.id })
      sessions.invalidateUser(user.id)
    })
    // Revocations made on another instance arrive as relayed events (cluster/event-bridge.ts).
    app.events.on('apikey.revoked', ({ identifier }) => apiKeys.invalidate({ identifier }))
    app.events.on('session.ended', ({ sessionId }) => sessions.invalidateSession(sessionId))
    app.events.on('user.updated', ({ user }) => {
      apiKeys.invalidate({ userId: user.id })
      sessions.invalidateUser(user.id)
    })

    function applyKeyResult(request: FastifyRequest, result: KeyAuthResult): void {
      if (result.ok) {
        request.principal = {
          via: 'key',
          user: result.user,
          keyId: result.keyId,
          keyType: result.keyType,
          identifier: result.identifier,
          rateKey: `key:${result.identifier}`,
        }
      } else {
        request.authFailure = result.reason
        request.log.info({ reason: result.reason }, 'API key refused')
      }
    }

    async function resolveSession(request: FastifyRequest, token: string): Promise<void> {
      const session = await sessions.resolve(token)
      if (!session) {
        request.authFailure = 'expired'
        return
      }
      if (!SAFE_METHODS.has(request.method) && !csrfMatches(request.cookies[CSRF_COOKIE], request.headers[CSRF_HEADER])) {
        request.authFailure = 'csrf'
        return
      }
      request.principal = { via: 'session', user: session.user, sessionId: session.id, rateKey: `session:${session.id}` }
    }

    // Callback style with a synchronous path for cached keys: this runs on every request, and
    // the credential endpoint's cost is mostly such per-request overhead (see the credential benchmark in bench/).
    app.addHook('onRequest', (request, _reply, done) => {
      const header = request.headers.authorization
      if (header !== undefined) {
        const token = bearerToken(header)
        // Device keys (whd_) are not API keys: the ingestion route checks them itself.
        if (token?.startsWith('whd_')) return done()
        if (!token) {
          applyKeyResult(request, { ok: false, reason: 'malformed' })
          return done()
        }
        const cached = apiKeys.authenticateCached(token, request.ip)
        if (cached) {
          applyKeyResult(request, cached)
          return done()
        }
        apiKeys.authenticate(token, request.ip).then((result) => {
          applyKeyResult(request, result)
          done()
        }, done)
        return
      }
      const token = request.cookies[SESSION_COOKIE]
      if (token === undefined) return done()
      resolveSession(request, token).then(() => done(), done)
    })

    /** No valid credential: a session write without its CSRF token is 403, anything else 401. */
    function anonymousRefusal(request: FastifyRequest): Error {
      return request.authFailure === 'csrf' ? new Forbidden(CSRF_REFUSED) : new Unauthenticated()
    }

    // Callback style, like the credential hook above: it guards every Client API request.
    app.decorate('requireClient', function requireClient(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
      const p = request.principal
      if (!p) return done(anonymousRefusal(request))
      if (p.via === 'key' && p.keyType !== KEY_TYPE_CLIENT) return done(new Forbidden(WRONG_KEY_FOR_CLIENT_API))
      done()
    })

    async function requireApplication(request: FastifyRequest) {
      const p = request.principal
      if (!p) throw new Unauthenticated()
      if (p.via !== 'key' || p.keyType !== KEY_TYPE_APPLICATION) throw new Forbidden(WRONG_KEY_FOR_APPLICATION_API)
      if (!p.user.rootAdmin) throw new Forbidden('This API key does not belong to an administrator.')
    }
    app.decorate('requireApplication', requireApplication)

    // The Application API takes an application key or an administrator's browser session, as
    // Pterodactyl's admin panel does: without the session path the dashboard could not manage
    // servers and users, and an administrator created through the API could never get a first
    // application key. Session writes are CSRF-checked on resolve.
    app.decorate('requireAdministrator', async function requireAdministrator(request: FastifyRequest) {
      const p = request.principal
      if (!p) throw anonymousRefusal(request)
      if (p.via !== 'session') return requireApplication(request)
      if (!p.user.rootAdmin) throw new Forbidden(NOT_AN_ADMIN)
    })

    app.addHook('onClose', async () => {
      loginLimiter.close()
      limiterRedis?.disconnect()
      await apiKeys.close()
    })
  },
  { name: 'auth', dependencies: ['config', 'database', 'jwt', 'cookie'] },
)
