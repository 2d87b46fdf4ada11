/**
 * The Wings-compatible console socket `GET /api/servers/:uuid/ws`: a protocol adapter on the
 * socket session core (realtime/session.ts), which owns admission, the auth deadline
 * (CONSOLE_AUTH_TIMEOUT, 4001), token timers, pausing the stream while the token is expired,
 * the flood budget (CONSOLE_MESSAGES_PER_SECOND, answered with `throttled`), size
 * (CONSOLE_MAX_MESSAGE_BYTES, 1009), ordering and the per-server socket count.
 *
 * Before the upgrade an unknown server is 404. A suspended or deleted server closes its sockets
 * with 1001, as Wings: the panel's Sockette does not reconnect after it (no storm). Inbound
 * frames are `{"event","args"}`; wrong shapes and unknown events are ignored, as Wings does, and
 * Wings' per-event throttles answer `throttled` once per episode.
 *
 * Auth checks signature, expiry, scope, `server_uuid`, `websocket.connect`, that the key or
 * session is active and that the user's access did not change after the token was issued
 * (Wings' denylist). While the token is expired every event gets `jwt error` and streaming
 * pauses until a fresh `auth`. A permission change is applied in place: the socket keeps its
 * console with the new permissions and gets `token expiring` so the client fetches a token that
 * carries them; only losing access closes it (4010).
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CLOSE } from '../realtime/close-codes.js'
import type { Session } from '../realtime/session.js'
import type { Subscription } from '../realtime/subscription.js'
import { parseText } from '../realtime/socket-support.js'
import { serverResource } from '../realtime/revocation.js'
import { NotFound } from '../../lib/errors.js'
import type { SocketTokenClaims } from '../auth/socket-tokens.js'
import {
  CONSOLE_CODEC, GENERIC_ERROR, IN, JWT, OUT, consoleCodec, consoleLine, encode, errorText, serverTopic, statsMessage, statusMessage,
} from './console.codec.js'
import { KNOWN_EVENTS, WingsThrottles } from './console.throttles.js'
import { P, POWER_PERMISSION, has } from './permissions.js'
import type { Actor, ServersService } from './servers.service.js'
import { PowerLockedError, POWER_ACTIONS, type PowerAction, type ServerState, type StatsSnapshot } from './supervisor.js'
import type { ServerRow } from './servers.repository.js'
import { replaySince } from './console-resume.js'

export interface ConsoleSockets {
  publishLine(uuid: string, line: string, seq?: number): void
  publishState(uuid: string, state: ServerState): void
  publishStats(uuid: string, stats: StatsSnapshot): void
}

export function createConsoleSockets(app: FastifyInstance, getService: () => ServersService): ConsoleSockets {
  const cfg = app.config
  const hub = app.hub
  hub.registerCodec(CONSOLE_CODEC, consoleCodec)
  const family = {
    kind: 'console',
    limits: {
      maxMessageBytes: cfg.CONSOLE_MAX_MESSAGE_BYTES, messagesPerSecond: cfg.CONSOLE_MESSAGES_PER_SECOND, burst: 2 * cfg.CONSOLE_MESSAGES_PER_SECOND,
      authTimeoutSec: cfg.CONSOLE_AUTH_TIMEOUT, maxPerResource: cfg.CONSOLE_MAX_SOCKETS,
    },
  }

  function open(session: Session<null>, server: ServerRow) {
    const service = getService()
    const throttles = new WingsThrottles()
    let claims: SocketTokenClaims | null = null
    /** Effective permissions: the token's, or the re-evaluated ones after a change. */
    let permissions: string[] = []
    let sub: Subscription | null = null
    let stateAtExpiry: ServerState | null = null
    const send = (event: string, args?: string[]) => session.send(encode(event, args))
    const subscribe = () => void (sub ??= session.subscribe(serverTopic(server.uuid)))
    /** Wings' SendErrorJson: details only with admin.websocket.errors; always an error reference. */
    const sendError = (message: string, isJwt = false) => {
      const detailed = isJwt || has(permissions, P.ADMIN_WEBSOCKET_ERRORS)
      send(isJwt ? OUT.JWT_ERROR : OUT.DAEMON_ERROR, [errorText(detailed ? message : GENERIC_ERROR, randomUUID())])
    }
    const renewal = () => session.takeRenewal()
    const actor = (): Actor => ({ user: { id: claims!.user_id, uuid: claims!.user_uuid, email: '', rootAdmin: false }, ip: session.ip, viaApi: false })

    async function auth(token: string, since?: number) {
      const v = app.socketTokens.verify(token, 'console')
      if (!v.ok) {
        session.authFailed(v.reason)
        return v.reason === 'token_expired' ? sendError(JWT.EXPIRED, true) : sendError(`jwt: ${v.reason.replace('_', ' ')}`)
      }
      const c = v.claims
      const refused = (reason: string, text: string) => {
        session.authFailed(reason)
        sendError(text, true)
      }
      if (!has(c.permissions, P.WEBSOCKET_CONNECT)) return refused('no_connect', JWT.NO_CONNECT)
      if (c.server_uuid !== server.uuid) return refused('wrong_server', JWT.UUID_MISMATCH)
      const row = service.lookup(server.uuid)
      if (!row) return session.close(CLOSE.GOING_AWAY, 'server deleted')
      if (row.suspended) return session.close(CLOSE.GOING_AWAY, 'server suspended')
      const [active, access] = await Promise.all([app.isCredentialActive(c.cred), service.access({ id: c.user_id }, row)])
      if (session.closed) return
      if (!active || !access || access.changedAtMs > app.socketTokens.issuedAtMs(c)) return refused('denylisted', JWT.DENYLISTED)
      const first = claims === null
      const wasExpired = session.expired
      // Resumes a paused stream; false: CONSOLE_MAX_SOCKETS reached on this server (closed 4009).
      if (!session.authenticated({ userId: c.user_id, cred: c.cred, iat: c.iat, exp: c.exp })) return
      claims = c
      permissions = c.permissions
      send(OUT.AUTH_SUCCESS)
      // Resuming after a reconnect: the missed lines first, then the live stream, seamlessly.
      if (first && since !== undefined) await replaySince(service, server.uuid, since, cfg.CONSOLE_RESUME_MAX_LINES, (text) => session.send(text), subscribe)
      else subscribe()
      if (session.closed) return
      const state = service.state(server.uuid)
      if (first) {
        send(OUT.STATUS, [state])
        const stats = service.stats(server.uuid)
        if (state === 'offline' && stats) send(OUT.STATS, statsMessage(stats).args)
      } else if (wasExpired && stateAtExpiry !== state) {
        send(OUT.STATUS, [state]) // streaming was paused: do not leave the client on a stale state
      }
    }

    async function sendStats() {
      const stats = await service.currentStats(server.uuid)
      if (stats && !session.closed) send(OUT.STATS, statsMessage(stats).args)
    }

    function setState(arg: string) {
      const action = arg as PowerAction
      if (!POWER_ACTIONS.includes(action)) return sendError(`invalid power action "${arg}"`)
      if (!has(permissions, POWER_PERMISSION[action]!)) return // ignored, as Wings
      try {
        void service.power(server, action, actor())
      } catch (err) {
        if (err instanceof PowerLockedError) send(OUT.DAEMON_ERROR, [errorText(err.message, randomUUID())])
        else sendError((err as Error).message)
      }
    }

    function command(text: string) {
      if (!has(permissions, P.CONTROL_CONSOLE) || service.state(server.uuid) === 'offline') return
      try {
        void service.command(server, text, actor())
      } catch {
        /* the process went away meanwhile: Wings ignores it too */
      }
    }

    function logs() {
      for (const l of service.history(server.uuid, cfg.CONSOLE_HISTORY_LINES)) if (!session.send(JSON.stringify(consoleLine(l.text, l.seq)))) break
    }

    /** Resume on an authenticated socket: the stream pauses while the lines after `arg` replay. */
    async function logsSince(arg: string) {
      const after = Number(arg)
      if (arg === '' || !Number.isSafeInteger(after) || after < 0) return sendError('send logs since: the argument must be a line number')
      const state = service.state(server.uuid)
      if (sub) session.unsubscribe(sub)
      sub = null
      await replaySince(service, server.uuid, after, cfg.CONSOLE_RESUME_MAX_LINES, (text) => session.send(text), () => {
        if (!session.closed) subscribe() // paused until the renewing auth if the token expired meanwhile
      })
      if (!session.closed && service.state(server.uuid) !== state) send(OUT.STATUS, [service.state(server.uuid)])
    }

    function handle(event: string, arg: string, since?: number): void | Promise<void> {
      if (event === IN.AUTH) return auth(arg, since)
      if (!claims) return void send(OUT.JWT_ERROR, [JWT.NOT_PRESENT])
      if (session.expired) return void send(OUT.JWT_ERROR, [JWT.EXPIRED])
      if (event === IN.SEND_STATS) return sendStats()
      else if (event === IN.SEND_LOGS) logs()
      else if (event === IN.SEND_LOGS_SINCE) return logsSince(arg)
      else if (event === IN.SET_STATE) setState(arg)
      else if (event === IN.SEND_COMMAND) command(arg)
    }

    session.serve(serverResource(server.uuid))
    session.use({
      message(value) {
        const msg = value as { event?: unknown; args?: unknown; since?: unknown }
        if (msg === null || typeof msg !== 'object' || typeof msg.event !== 'string') return
        const event = msg.event
        if (!KNOWN_EVENTS.has(event)) return
        const verdict = throttles.take(event, renewal)
        if (verdict === 'notify') send(OUT.THROTTLED, [event])
        if (verdict !== 'pass') return
        // Wings joins the string arguments; Pterodactyl's frontend sends `args: [null]`.
        const arg = Array.isArray(msg.args) ? msg.args.filter((a): a is string => typeof a === 'string').join('') : ''
        const since = typeof msg.since === 'number' && Number.isSafeInteger(msg.since) && msg.since >= 0 ? msg.since : undefined
        return handle(event, arg, since)
      },
      // Wings names the event that was throttled; the frame is parsed for it once per episode.
      throttled(frame) {
        const parsed = frame ? parseText(frame, false) : null
        const event = parsed?.ok ? (parsed.value as { event?: unknown } | null)?.event : undefined
        send(OUT.THROTTLED, [typeof event === 'string' ? event.slice(0, 64) : 'ping'])
      },
      expiring: () => void send(OUT.TOKEN_EXPIRING),
      expired() {
        stateAtExpiry = service.state(server.uuid)
        send(OUT.TOKEN_EXPIRED)
      },
      async recheck() {
        if (!claims) return
        const row = service.lookup(server.uuid)
        if (!row) return session.close(CLOSE.GOING_AWAY, 'server deleted')
        const access = await service.access({ id: claims.user_id }, row)
        if (session.closed) return
        if (!access || !has(access.permissions, P.WEBSOCKET_CONNECT)) return session.close(CLOSE.REVOKED, 'access to this server was removed')
        const same = access.permissions.length === permissions.length && access.permissions.every((p) => permissions.includes(p))
        if (same) return
        permissions = access.permissions
        session.requestRenewal() // `token expiring`: the client fetches a token carrying the new permissions
      },
    })
    if (service.lookup(server.uuid)?.suspended) session.close(CLOSE.GOING_AWAY, 'server suspended')
  }

  const lookup = (request: FastifyRequest) => getService().lookup((request.params as { uuid: string }).uuid)
  app.sockets.route('/api/servers/:uuid/ws', family, () => null, (session, request) => open(session, lookup(request)!), {
    preValidation: [
      async (request) => {
        if (!lookup(request)) throw new NotFound()
      },
    ],
  })

  const publish = (uuid: string, payload: unknown, lane: 'reliable' | 'droppable', collapseKey?: string) =>
    hub.publish({ topics: [serverTopic(uuid)], codec: CONSOLE_CODEC, payload, lane, ...(collapseKey ? { collapseKey } : {}) })
  return {
    publishLine: (uuid, line, seq) => publish(uuid, consoleLine(line, seq), 'reliable'),
    publishState: (uuid, state) => publish(uuid, statusMessage(state), 'reliable'),
    publishStats: (uuid, stats) => publish(uuid, statsMessage(stats), 'droppable', 'stats'),
  }
}
