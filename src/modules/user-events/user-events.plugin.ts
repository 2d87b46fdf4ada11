/**
 * The user events socket: trusted back-end services follow what happens to
 * users (logins, logouts, accounts created, changed and removed, API keys created and revoked)
 * as JSON events with a numeric `eventType` (table in user-events.types.ts and the README).
 *
 * Access: the address must be in USER_EVENTS_ALLOWED_IPS (when set), within the connection
 * limits, the request's Origin must match APPROVED_SOCKET_DOMAINS (regexes compiled once; an
 * invalid one stops start-up, unanchored ones are logged as warnings; an empty list refuses
 * everyone), and with USER_EVENTS_REQUIRE_KEY an administrator's application key as well.
 * Refusals happen before the upgrade (HTTP 401/403/429/503). Origin alone on a non-loopback
 * HOST is warned about at start-up. Served at `/ws/users` on the main port and,
 * when USER_EVENTS_PORT is set and differs from PORT (or is 0: a free port), also on that port.
 *
 * Domain events are published once to the hub topic `user-events`; the hub encodes each event
 * once and writes the same frame to every socket.
 */
import { isIP } from 'node:net'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { Forbidden, TooManyRequests, Unauthenticated, Unavailable } from '../../lib/errors.js'
import type { DomainEventMap } from '../../lib/domain-events.js'
import { parseAllowList } from '../../lib/ip-allow-list.js'
import { compileDomains, type CompiledDomains } from '../../lib/origin-policy.js'
import type { Family, Session } from '../realtime/session.js'
import { lifecycleEvent } from './user-events.protocol.js'
import { startExtraServer, type ExtraServer } from './user-events.server.js'
import { CONNECTION_KIND, createUpgradeCheck, serveUserEvents, type UserEventsMeta } from './user-events.socket.js'
import { EVENT_TYPE, USER_EVENTS_CODEC, USER_EVENTS_PATH, USER_EVENTS_TOPIC, type UserLifecycleEvent } from './user-events.types.js'

export interface UserEventsInfo {
  /** The compiled allow-list (patterns and start-up warnings). */
  readonly domains: CompiledDomains
  readonly path: string
  /** The extra port once listening (after `ready`), or null when only `/ws/users` serves it. */
  port: number | null
}

declare module 'fastify' {
  interface FastifyInstance {
    userEvents: UserEventsInfo
  }
}

type Listener<K extends keyof DomainEventMap> = (...args: DomainEventMap[K]) => void

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))

export default fp(
  async function userEventsModule(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'user-events' })
    // Throws DomainPatternError naming every invalid pattern: registration fails, start-up stops.
    const domains = compileDomains(cfg.APPROVED_SOCKET_DOMAINS)
    for (const warning of domains.warnings) log.warn(warning)
    if (cfg.APPROVED_SOCKET_DOMAINS.length === 0) log.info('APPROVED_SOCKET_DOMAINS is empty: every user events socket is refused')
    const ips = parseAllowList(cfg.USER_EVENTS_ALLOWED_IPS.split(',').map((e) => e.trim()).filter(Boolean))
    if (ips.invalid.length > 0) throw new Error(`USER_EVENTS_ALLOWED_IPS: not an address or CIDR range: ${ips.invalid.join(', ')}`)
    // Origin is a header any non-browser client can set: alone it is no access control.
    if (cfg.APPROVED_SOCKET_DOMAINS.length > 0 && !cfg.USER_EVENTS_REQUIRE_KEY && !ips.list && !isLoopback(cfg.HOST)) {
      log.warn(
        { host: cfg.HOST },
        'the user events socket is reachable from other machines and guarded by Origin alone: set USER_EVENTS_REQUIRE_KEY=true (recommended) or USER_EVENTS_ALLOWED_IPS',
      )
    }

    const info: UserEventsInfo = { domains, path: USER_EVENTS_PATH, port: null }
    app.decorate('userEvents', info)
    const hub = app.hub
    hub.registerCodec(USER_EVENTS_CODEC, { encode: (payload) => JSON.stringify(payload) })

    const family: Family = {
      kind: CONNECTION_KIND,
      limits: { maxMessageBytes: cfg.USER_EVENTS_MAX_MESSAGE_BYTES, messagesPerSecond: cfg.USER_EVENTS_MESSAGES_PER_SECOND, burst: 2 * cfg.USER_EVENTS_MESSAGES_PER_SECOND, authTimeoutSec: 0 },
    }
    const index = app.sockets.index
    const check = createUpgradeCheck({
      domains,
      requireKey: cfg.USER_EVENTS_REQUIRE_KEY,
      apiKeys: app.apiKeys,
      allowedIps: ips.list,
      limits: { maxConnections: cfg.USER_EVENTS_MAX_CONNECTIONS, maxPerIp: cfg.USER_EVENTS_MAX_CONNECTIONS_PER_IP },
      open: { total: () => index.openOf(CONNECTION_KIND), from: (ip) => index.openOf(CONNECTION_KIND, ip) },
    })
    const adapterDeps = {
      isAdministrator: async (userId: number) => !!(await app.prisma.user.findUnique({ where: { id: userId }, select: { rootAdmin: true } }))?.rootAdmin,
    }
    const serve = (session: Session<UserEventsMeta>) => serveUserEvents(adapterDeps, session, family)
    const accepted = new WeakMap<FastifyRequest, UserEventsMeta>()
    app.sockets.route(USER_EVENTS_PATH, family, (request) => accepted.get(request)!, serve, {
      origin: null, // APPROVED_SOCKET_DOMAINS, checked with the rest below
      preValidation: [
        async (request, reply) => {
          const verdict = await check(request.headers, request.ip, 'main')
          if (!verdict.ok) {
            request.log.warn({ origin: request.headers.origin ?? null, reason: verdict.reason }, 'user events socket refused')
            if (verdict.status === 503) reply.header('retry-after', '5')
            throw verdict.status === 401 ? new Unauthenticated() : verdict.status === 429 ? new TooManyRequests(verdict.detail) : verdict.status === 503 ? new Unavailable(verdict.detail) : new Forbidden(verdict.detail)
          }
          accepted.set(request, verdict.meta)
        },
      ],
    })

    // --- domain events → the topic (published once; the hub fans out)
    const publish = (event: UserLifecycleEvent) => {
      try {
        hub.publish({ topics: [USER_EVENTS_TOPIC], codec: USER_EVENTS_CODEC, payload: event, lane: 'reliable' })
      } catch (err) {
        log.error({ err }, 'could not publish a user event')
      }
    }
    const listeners: { [K in keyof DomainEventMap]?: Listener<K> } = {
      'user.login': ({ user, at }) => publish(lifecycleEvent(EVENT_TYPE.LOGIN, user, at)),
      'user.logout': ({ user, at }) => publish(lifecycleEvent(EVENT_TYPE.LOGOUT, user, at)),
      'user.created': ({ user, at }) => publish(lifecycleEvent(EVENT_TYPE.ACTIVATED, user, at)),
      'user.updated': ({ user, at }) => publish(lifecycleEvent(EVENT_TYPE.UPDATED, user, at)),
      'user.deleted': ({ user, at }) => publish(lifecycleEvent(EVENT_TYPE.REMOVED, user, at)),
      'apikey.created': ({ user, identifier, keyType, at }) => publish(lifecycleEvent(EVENT_TYPE.API_KEY_CREATED, user, at, { identifier, keyType })),
      // Key-authenticated sockets are closed by the realtime core's revocation path.
      'apikey.revoked': ({ user, identifier, keyType, at }) => publish(lifecycleEvent(EVENT_TYPE.API_KEY_REVOKED, user, at, { identifier, keyType })),
    }
    for (const [name, fn] of Object.entries(listeners)) app.events.on(name as keyof DomainEventMap, fn as never)

    // --- the extra port (seed: ws://host:<websocket.port>)
    const extraPort = cfg.USER_EVENTS_PORT
    let extra: ExtraServer | null = null
    if (extraPort !== undefined && (extraPort === 0 || extraPort !== cfg.PORT)) {
      app.addHook('onReady', async () => {
        extra = await startExtraServer({
          host: cfg.HOST,
          port: extraPort,
          check,
          onSocket: (ws, meta, ip) => serve(app.sockets.open(ws, family, ip, meta)),
          log,
          maxPayload: cfg.WS_MAX_PAYLOAD,
          perMessageDeflate: cfg.WS_PERMESSAGE_DEFLATE,
        })
        info.port = extra.port
        log.info({ port: extra.port, host: cfg.HOST }, 'user events socket listening on its own port')
      })
    }

    app.addHook('onClose', async () => {
      for (const [name, fn] of Object.entries(listeners)) app.events.off(name as keyof DomainEventMap, fn as never)
      if (extra) await extra.close()
      extra = null
      info.port = null
    })
  },
  { name: 'user-events', dependencies: ['auth', 'realtime'] },
)
