/**
 * The Wings-compatible console socket `GET /api/servers/:uuid/ws` on the shared hub.
 *
 * Before the upgrade: Origin check (403) and unknown server (404). After it: a suspended server
 * closes with 4409; a socket that does not authenticate within CONSOLE_AUTH_TIMEOUT closes with
 * 4001. Inbound frames are `{"event","args"}`; frames over 4096 bytes close with 1009; malformed
 * JSON, wrong shapes and unknown events are ignored (as Wings does). Token buckets per socket
 * (Wings' limiter plus an overall 5/s burst 10) answer with one `throttled` per episode.
 *
 * Auth checks signature, expiry, scope, `server_uuid`, `websocket.connect`, that the key or
 * session behind the token is still active, and that the user's access did not change after
 * the token was issued (Wings' "denylist"). Streaming is a hub subscription to `server:<uuid>`:
 * console lines and status on the reliable lane (a client that stops reading is closed with
 * 4008), stats droppable and collapsed. At expiry the subscription is dropped and every event
 * gets `jwt error` until a fresh `auth` on the same socket resumes it.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { RawData } from 'ws'
import { CLOSE, type CloseCode } from '../realtime/close-codes.js'
import type { Connection } from '../realtime/connection.js'
import { originGuard, parseFrame, TokenTimers } from '../realtime/socket-support.js'
import type { Subscription } from '../realtime/subscription.js'
import { TokenBucket } from '../realtime/token-bucket.js'
import { NotFound } from '../../lib/errors.js'
import type { SocketTokenClaims } from '../auth/socket-tokens.js'
import {
  CONSOLE_CODEC, GENERIC_ERROR, IN, JWT, OUT, consoleCodec, consoleLine, encode, errorText, serverTopic, statsMessage, statusMessage,
} from './console.codec.js'
import { P, POWER_PERMISSION, has } from './permissions.js'
import type { Actor, RevocationHooks, ServersService } from './servers.service.js'
import { PowerLockedError, POWER_ACTIONS, type PowerAction, type ServerState, type StatsSnapshot } from './supervisor.js'
import type { ServerRow } from './servers.repository.js'

/** Wings: inbound console frames larger than this close the socket (1009). */
export const MAX_FRAME_BYTES = 4096
/** `token expiring` is sent when this many seconds or fewer remain (Wings: 60). */
export const TOKEN_WARN_SEC = 60

type Limiter = 'overall' | 'auth' | 'logs' | 'command' | 'default'

/** Wings' limiter.go plus an overall cap: [rate per second, burst]. */
const LIMITS: Record<Limiter, [number, number]> = {
  overall: [5, 10],
  auth: [0.2, 2],
  logs: [0.2, 2],
  command: [1, 10],
  default: [1, 4],
}

const limiterOf = (event: string): Limiter =>
  event === IN.AUTH ? 'auth' : event === IN.SEND_LOGS ? 'logs' : event === IN.SEND_COMMAND ? 'command' : 'default'

const KNOWN_EVENTS = new Set<string>(Object.values(IN))

interface Session {
  conn: Connection<null>
  server: ServerRow
  claims: SocketTokenClaims | null
  expired: boolean
  sub: Subscription | null
  timers: TokenTimers
  authTimer: NodeJS.Timeout | null
  buckets: Map<Limiter, TokenBucket>
  throttled: Set<Limiter>
  queue: Promise<void>
  stateAtExpiry: ServerState | null
  ip: string
}

export interface ConsoleSockets extends RevocationHooks {
  publishLine(uuid: string, line: string): void
  publishState(uuid: string, state: ServerState): void
  publishStats(uuid: string, stats: StatsSnapshot): void
  /** Records when the credential endpoint issued a token, to the millisecond (denylist checks). */
  issued(jti: string): void
  authenticatedCount(uuid: string): number
}

export function createConsoleSockets(app: FastifyInstance, getService: () => ServersService): ConsoleSockets {
  const cfg = app.config
  const hub = app.hub
  const log = app.log.child({ module: 'console' })
  hub.registerCodec(CONSOLE_CODEC, consoleCodec)

  const byServer = new Map<string, Set<Session>>()
  /** jti → issue time in ms, kept for one token lifetime (tokens are seconds-precise otherwise). */
  const issuedAt = new Map<string, number>()

  const sessionsOf = (uuid: string) => byServer.get(uuid) ?? new Set<Session>()

  function publish(uuid: string, payload: unknown, lane: 'reliable' | 'droppable', collapseKey?: string) {
    hub.publish({ topics: [serverTopic(uuid)], codec: CONSOLE_CODEC, payload, lane, ...(collapseKey ? { collapseKey } : {}) })
  }

  function send(s: Session, event: string, args?: string[]) {
    s.conn.sendText(encode(event, args))
  }

  function close(s: Session, code: CloseCode) {
    s.conn.close(code)
  }

  /** Wings' SendErrorJson: details only with admin.websocket.errors; always an error reference. */
  function sendError(s: Session, message: string, isJwt = false) {
    const detailed = isJwt || (s.claims !== null && has(s.claims.permissions, P.ADMIN_WEBSOCKET_ERRORS))
    send(s, isJwt ? OUT.JWT_ERROR : OUT.DAEMON_ERROR, [errorText(detailed ? message : GENERIC_ERROR, randomUUID())])
  }

  function take(s: Session, limiter: Limiter, event: string): boolean {
    const bucket = s.buckets.get(limiter)!
    if (bucket.take()) {
      s.throttled.delete(limiter)
      return true
    }
    if (!s.throttled.has(limiter)) {
      s.throttled.add(limiter)
      send(s, OUT.THROTTLED, [event])
    }
    return false
  }

  /** Why the session's token cannot be used now, or null. */
  function tokenProblem(s: Session): string | null {
    if (!s.claims) return JWT.NOT_PRESENT
    if (s.expired || s.claims.exp * 1000 <= Date.now()) return JWT.EXPIRED
    return null
  }

  function subscribe(s: Session) {
    if (!s.sub) s.sub = hub.subscribe(s.conn, serverTopic(s.server.uuid))
  }

  function unsubscribe(s: Session) {
    if (s.sub) hub.unsubscribe(s.sub)
    s.sub = null
  }

  async function onAuth(s: Session, token: string) {
    const v = app.socketTokens.verify(token, 'console')
    if (!v.ok) {
      if (v.reason === 'token_expired') return sendError(s, JWT.EXPIRED, true)
      return sendError(s, `jwt: ${v.reason.replace('_', ' ')}`)
    }
    const claims = v.claims
    if (!has(claims.permissions, P.WEBSOCKET_CONNECT)) return sendError(s, JWT.NO_CONNECT, true)
    if (claims.server_uuid !== s.server.uuid) return sendError(s, JWT.UUID_MISMATCH, true)
    const service = getService()
    const server = service.lookup(s.server.uuid)
    if (!server) return close(s, CLOSE.SERVER_DELETED)
    if (server.suspended) return close(s, CLOSE.SUSPENDED)
    const [active, access] = await Promise.all([app.isCredentialActive(claims.cred), service.access({ id: claims.user_id }, server)])
    if (s.conn.closed) return
    const issued = issuedAt.get(claims.jti) ?? claims.iat * 1000
    if (!active || !access || access.changedAtMs > issued) return sendError(s, JWT.DENYLISTED, true)
    const first = s.claims === null
    if (first && authenticatedCount(s.server.uuid) >= cfg.CONSOLE_MAX_SOCKETS) return close(s, CLOSE.TOO_MANY_CONNECTIONS)
    const wasExpired = s.expired
    s.claims = claims
    s.conn.credential = claims.cred
    s.expired = false
    if (s.authTimer) clearTimeout(s.authTimer)
    s.authTimer = null
    s.timers.reset(claims.exp)
    send(s, OUT.AUTH_SUCCESS)
    subscribe(s)
    const state = service.state(s.server.uuid)
    if (first) {
      send(s, OUT.STATUS, [state])
      const stats = service.stats(s.server.uuid)
      if (state === 'offline' && stats) send(s, OUT.STATS, statsMessage(stats).args)
    } else if (wasExpired && s.stateAtExpiry !== state) {
      // Streaming was paused while the token was expired: do not leave the client on a stale state.
      send(s, OUT.STATUS, [state])
    }
  }

  function actorOf(s: Session): Actor {
    return { user: { id: s.claims!.user_id, uuid: s.claims!.user_uuid, email: '', rootAdmin: false }, ip: s.ip, viaApi: false }
  }

  function onSetState(s: Session, arg: string) {
    const action = arg as PowerAction
    if (!POWER_ACTIONS.includes(action)) return sendError(s, `invalid power action "${arg}"`)
    if (!has(s.claims!.permissions, POWER_PERMISSION[action]!)) return // ignored, as Wings
    const service = getService()
    try {
      void service.power(s.server, action, actorOf(s))
    } catch (err) {
      if (err instanceof PowerLockedError) send(s, OUT.DAEMON_ERROR, [errorText(err.message, randomUUID())])
      else sendError(s, (err as Error).message)
    }
  }

  function onCommand(s: Session, text: string) {
    if (!has(s.claims!.permissions, P.CONTROL_CONSOLE)) return
    const service = getService()
    if (service.state(s.server.uuid) === 'offline') return
    try {
      void service.command(s.server, text, actorOf(s))
    } catch {
      /* the process went away meanwhile: Wings ignores it too */
    }
  }

  function onLogs(s: Session) {
    for (const line of getService().history(s.server.uuid, cfg.CONSOLE_HISTORY_LINES)) {
      if (!s.conn.sendText(JSON.stringify(consoleLine(line)))) break
    }
  }

  async function handle(s: Session, event: string, arg: string) {
    if (event !== IN.AUTH) {
      const problem = tokenProblem(s)
      if (problem) return send(s, OUT.JWT_ERROR, [problem])
    }
    switch (event) {
      case IN.AUTH:
        return onAuth(s, arg)
      case IN.SEND_STATS: {
        const stats = getService().stats(s.server.uuid)
        if (stats) send(s, OUT.STATS, statsMessage(stats).args)
        return
      }
      case IN.SEND_LOGS:
        return onLogs(s)
      case IN.SET_STATE:
        return onSetState(s, arg)
      case IN.SEND_COMMAND:
        return onCommand(s, arg)
    }
  }

  function onMessage(s: Session, data: RawData, isBinary: boolean) {
    s.conn.counters.messagesIn++
    const parsed = parseFrame(data as Buffer, isBinary, MAX_FRAME_BYTES)
    if (!parsed.ok) {
      if (parsed.error === 'too_large') close(s, CLOSE.TOO_BIG)
      return
    }
    const msg = parsed.value as { event?: unknown; args?: unknown }
    if (msg === null || typeof msg !== 'object' || typeof msg.event !== 'string') return
    const event = msg.event
    if (!take(s, 'overall', event)) return
    if (!KNOWN_EVENTS.has(event)) return
    if (!take(s, limiterOf(event), event)) return
    // Wings joins the string arguments; Pterodactyl's frontend sends `args: [null]`.
    const arg = Array.isArray(msg.args) ? msg.args.filter((a): a is string => typeof a === 'string').join('') : ''
    s.queue = s.queue
      .then(() => handle(s, event, arg))
      .catch((err: unknown) => {
        log.error({ err, event, connId: s.conn.id }, 'console event failed')
        if (!s.conn.closed) sendError(s, (err as Error).message)
      })
  }

  function authenticatedCount(uuid: string): number {
    let n = 0
    for (const s of sessionsOf(uuid)) if (s.claims && !s.conn.closed) n++
    return n
  }

  function closeWhere(pred: (s: Session) => boolean, code: CloseCode, uuid?: string) {
    const sets = uuid ? [sessionsOf(uuid)] : [...byServer.values()]
    for (const set of sets) for (const s of [...set]) if (pred(s)) close(s, code)
  }

  /** Re-checks access of the matching sessions; closes those that lost it or whose permissions changed. */
  function recheck(pred: (s: Session) => boolean, uuid?: string) {
    const sets = uuid ? [sessionsOf(uuid)] : [...byServer.values()]
    for (const set of sets) {
      for (const s of [...set]) {
        if (!s.claims || !pred(s)) continue
        const claims = s.claims
        const server = getService().lookup(s.server.uuid)
        if (!server) {
          close(s, CLOSE.SERVER_DELETED)
          continue
        }
        getService()
          .access({ id: claims.user_id }, server)
          .then((access) => {
            const same = access && access.permissions.length === claims.permissions.length && access.permissions.every((p) => claims.permissions.includes(p))
            if (!same) close(s, CLOSE.REVOKED)
          })
          .catch((err: unknown) => log.warn({ err }, 'console access re-check failed'))
      }
    }
  }

  app.events.on('apikey.revoked', ({ keyId }) => closeWhere((s) => s.claims?.cred === `k:${keyId}`, CLOSE.REVOKED))
  app.events.on('session.ended', ({ sessionId }) => closeWhere((s) => s.claims?.cred === `s:${sessionId}`, CLOSE.REVOKED))
  app.events.on('user.deleted', ({ user }) => closeWhere((s) => s.claims?.user_id === user.id, CLOSE.REVOKED))
  app.events.on('user.updated', ({ user }) => recheck((s) => s.claims?.user_id === user.id))

  const timer = setInterval(() => {
    const cutoff = Date.now() - cfg.SOCKET_TOKEN_TTL * 1000 - 60_000
    for (const [jti, at] of issuedAt) if (at < cutoff) issuedAt.delete(jti)
  }, 60_000)
  timer.unref()
  app.addHook('onClose', async () => clearInterval(timer))

  app.get(
    '/api/servers/:uuid/ws',
    {
      websocket: true,
      schema: { hide: true },
      preValidation: [
        originGuard(app.originPolicy),
        async (request) => {
          const { uuid } = request.params as { uuid: string }
          if (!getService().lookup(uuid)) throw new NotFound()
        },
      ],
    },
    (socket, request) => {
      const server = getService().lookup((request.params as { uuid: string }).uuid)!
      const conn = hub.connect<null>(socket, 'console', null)
      const s: Session = {
        conn,
        server,
        claims: null,
        expired: false,
        sub: null,
        timers: new TokenTimers(
          TOKEN_WARN_SEC,
          () => send(s, OUT.TOKEN_EXPIRING),
          () => {
            s.expired = true
            s.stateAtExpiry = getService().state(server.uuid)
            unsubscribe(s)
            send(s, OUT.TOKEN_EXPIRED)
          },
        ),
        authTimer: null,
        buckets: new Map(Object.entries(LIMITS).map(([k, [rate, burst]]) => [k as Limiter, new TokenBucket(rate, burst)])),
        throttled: new Set(),
        queue: Promise.resolve(),
        stateAtExpiry: null,
        ip: request.ip,
      }
      socket.on('message', (data, isBinary) => onMessage(s, data, isBinary))
      let set = byServer.get(server.uuid)
      if (!set) byServer.set(server.uuid, (set = new Set()))
      set.add(s)
      socket.once('close', () => {
        s.timers.clear()
        if (s.authTimer) clearTimeout(s.authTimer)
        const current = byServer.get(server.uuid)
        current?.delete(s)
        if (current?.size === 0) byServer.delete(server.uuid)
      })
      if (getService().lookup(server.uuid)?.suspended) return close(s, CLOSE.SUSPENDED)
      s.authTimer = setTimeout(() => {
        if (!s.claims) close(s, CLOSE.AUTH_TIMEOUT)
      }, cfg.CONSOLE_AUTH_TIMEOUT * 1000)
      s.authTimer.unref()
    },
  )

  return {
    publishLine: (uuid, line) => publish(uuid, consoleLine(line), 'reliable'),
    publishState: (uuid, state) => publish(uuid, statusMessage(state), 'reliable'),
    publishStats: (uuid, stats) => publish(uuid, statsMessage(stats), 'droppable', 'stats'),
    issued: (jti) => issuedAt.set(jti, Date.now()),
    authenticatedCount,
    accessChanged: (userId, uuid) => closeWhere((s) => s.claims?.user_id === userId, CLOSE.REVOKED, uuid),
    serverClosed: (uuid, why) => closeWhere(() => true, why === 'suspended' ? CLOSE.SUSPENDED : CLOSE.SERVER_DELETED, uuid),
    serverChanged: (uuid) => recheck(() => true, uuid),
  }
}
