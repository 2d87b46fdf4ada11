/**
 * `app.sockets`: how a socket family is served. `route(path, family, open)` is the whole of what
 * a family adds: it registers the websocket route behind the pre-upgrade checks (Origin, the
 * unauthenticated budget, the family's own checks: HTTP 403/404/429/503 before any websocket
 * exists), creates the Session and hands it to the family's `open`, which attaches its protocol
 * adapter. `open` alone serves sockets accepted elsewhere (the user events' extra port).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preValidationAsyncHookHandler } from 'fastify'
import type { WebSocket } from 'ws'
import { Forbidden, TooManyRequests, Unavailable } from '../../lib/errors.js'
import type { OriginPolicy } from '../../lib/origin-policy.js'
import type { Hub } from './hub.js'
import { Session, type Family } from './session.js'
import type { SessionIndex } from './session-index.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on websocket routes: an upgrade request to any other route is answered 404. */
    websocketRoute?: boolean
  }
}

export interface RouteOptions {
  /** The Origin policy: ALLOWED_ORIGINS (app.originPolicy) unless the family has its own; null: none. */
  origin?: OriginPolicy | null
  /** The family's own pre-upgrade checks, after Origin and admission. */
  preValidation?: preValidationAsyncHookHandler[]
}

export type OpenSession<M> = (session: Session<M>, request: FastifyRequest) => void

export interface Sockets {
  readonly index: SessionIndex
  route<M>(path: string, family: Family, meta: (request: FastifyRequest) => M, open: OpenSession<M>, opts?: RouteOptions): void
  /** Adopts a websocket accepted outside a route. */
  open<M>(ws: WebSocket, family: Family, ip: string, meta: M): Session<M>
  /** Re-verifies every socket's credential; closes the revoked ones (4010). Returns how many. */
  recheckAll(): Promise<number>
}

/** preValidation hook: refuses a disallowed Origin with HTTP 403. */
export function originGuard(policy: OriginPolicy) {
  return async function checkOrigin(request: FastifyRequest, _reply: FastifyReply) {
    const origin = request.headers.origin
    if (!policy.allows(origin)) {
      request.log.warn({ origin: origin ?? null }, 'websocket origin refused')
      throw new Forbidden(origin ? `Origin ${origin} is not allowed to open this socket.` : 'A missing Origin header is not allowed on this socket.')
    }
  }
}

/**
 * @fastify/websocket upgrades a request to any GET route and, when that route has no websocket
 * handler (the dashboard's wildcard catches `/ws/nope`), closes the new socket at once without a
 * code (1005): the client cannot tell a wrong address from a dropped connection and retries.
 * Such a request is answered with the JSON 404 instead, before any websocket exists.
 */
function refuseUpgradesWithoutSocket(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.websocket) route.config = { ...route.config, websocketRoute: true }
  })
  // Callback style: this runs on every request, and an async hook costs a promise and a
  // microtask turn each time.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers.upgrade === undefined || request.routeOptions.config.websocketRoute) return done()
    reply.callNotFound()
  })
}

export function createSockets(app: FastifyInstance, deps: { hub: Hub; index: SessionIndex }): Sockets {
  const log = app.log.child({ module: 'sockets' })
  const { hub, index } = deps
  // One object for every session.
  const sessionDeps = { hub, index, log, tokenRepeatMs: app.config.SOCKET_TOKEN_REPEAT * 1000 }

  function open<M>(ws: WebSocket, family: Family, ip: string, meta: M): Session<M> {
    // Two upgrades can pass the pre-upgrade check together: the budget is enforced here too.
    const late = family.limits.authTimeoutSec > 0 ? index.admit(ip) : null
    const session = new Session<M>(ws, family, ip, meta, sessionDeps)
    if (late) session.close(late.code, late.message)
    return session
  }

  async function admission(request: FastifyRequest, reply: FastifyReply) {
    const refusal = index.admit(request.ip)
    if (!refusal) return
    index.stats.rateLimited('admission')
    if (refusal.status === 503) {
      reply.header('retry-after', '5')
      throw new Unavailable(refusal.message)
    }
    throw new TooManyRequests(refusal.message)
  }

  refuseUpgradesWithoutSocket(app)

  return {
    index,
    open,
    route(path, family, meta, onOpen, opts = {}) {
      const origin = opts.origin === undefined ? app.originPolicy : opts.origin
      const hooks: preValidationAsyncHookHandler[] = []
      if (origin) hooks.push(originGuard(origin))
      if (family.limits.authTimeoutSec > 0) hooks.push(admission)
      hooks.push(...(opts.preValidation ?? []))
      index.kinds.add(family.kind)
      app.get(path, { websocket: true, schema: { hide: true }, preValidation: hooks }, (socket, request) => {
        const session = open(socket, family, request.ip, meta(request))
        if (session.closed) return
        try {
          onOpen(session, request)
        } catch (err) {
          session.fail(err, `${family.kind} socket could not start`)
        }
      })
    },
    recheckAll: () => index.recheckAll(app.isCredentialActive),
  }
}
