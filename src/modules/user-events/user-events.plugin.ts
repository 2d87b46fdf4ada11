/**
 * The user events socket (seed 001, issue 6): trusted back-end services follow what happens to
 * users (logins, logouts, accounts created, changed and removed, API keys created and revoked)
 * as JSON events with a numeric `eventType` (table in user-events.types.ts and the README).
 *
 * Access: the request's Origin must match APPROVED_SOCKET_DOMAINS (regexes compiled once here;
 * an invalid one stops start-up, unanchored ones are logged as warnings; an empty list refuses
 * everyone), and with USER_EVENTS_REQUIRE_KEY an administrator's application key as well.
 * Refusals happen before the upgrade (HTTP 401/403). Served at `/ws/users` on the main port and,
 * when USER_EVENTS_PORT is set and differs from PORT (or is 0: a free port), also on that port.
 *
 * Domain events are published once to the hub topic `user-events`; the hub encodes each event
 * once and writes the same frame to every socket.
 */
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { Forbidden, Unauthenticated } from '../../lib/errors.js'
import type { DomainEventMap } from '../../lib/domain-events.js'
import { CLOSE } from '../realtime/close-codes.js'
import type { Connection } from '../realtime/connection.js'
import { compileDomains, type CompiledDomains } from './domain-patterns.js'
import { lifecycleEvent } from './user-events.protocol.js'
import { startExtraServer, type ExtraServer } from './user-events.server.js'
import { CONNECTION_KIND, createUpgradeCheck, startSession, type UserEventsMeta } from './user-events.socket.js'
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

export default fp(
  async function userEventsModule(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'user-events' })
    // Throws DomainPatternError naming every invalid pattern: registration fails, start-up stops.
    const domains = compileDomains(cfg.APPROVED_SOCKET_DOMAINS)
    for (const warning of domains.warnings) log.warn(warning)
    if (cfg.APPROVED_SOCKET_DOMAINS.length === 0) log.info('APPROVED_SOCKET_DOMAINS is empty: every user events socket is refused')

    const info: UserEventsInfo = { domains, path: USER_EVENTS_PATH, port: null }
    app.decorate('userEvents', info)
    const hub = app.hub
    hub.registerCodec(USER_EVENTS_CODEC, { encode: (payload) => JSON.stringify(payload) })

    const check = createUpgradeCheck({ domains, requireKey: cfg.USER_EVENTS_REQUIRE_KEY, apiKeys: app.apiKeys })
    const accepted = new WeakMap<FastifyRequest, UserEventsMeta>()

    app.get(
      USER_EVENTS_PATH,
      {
        websocket: true,
        schema: { hide: true },
        preValidation: async (request) => {
          const verdict = await check(request.headers, request.ip, 'main')
          if (!verdict.ok) {
            request.log.warn({ origin: request.headers.origin ?? null, reason: verdict.reason }, 'user events socket refused')
            throw verdict.status === 401 ? new Unauthenticated() : new Forbidden(verdict.detail)
          }
          accepted.set(request, verdict.meta)
        },
      },
      (socket, request) => {
        const meta = accepted.get(request)
        if (!meta) return socket.close(CLOSE.POLICY.code, CLOSE.POLICY.reason) // unreachable: the hook ran
        startSession({ hub, log }, socket, meta)
      },
    )

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
      'user.updated': ({ user, at }) => {
        publish(lifecycleEvent(EVENT_TYPE.UPDATED, user, at))
        void recheckOwner(user.id)
      },
      'user.deleted': ({ user, at }) => {
        publish(lifecycleEvent(EVENT_TYPE.REMOVED, user, at))
        closeKeyed((m) => m.userId === user.id, 'key owner removed')
      },
      'apikey.created': ({ user, identifier, keyType, at }) => publish(lifecycleEvent(EVENT_TYPE.API_KEY_CREATED, user, at, { identifier, keyType })),
      'apikey.revoked': ({ user, identifier, keyId, keyType, at }) => {
        publish(lifecycleEvent(EVENT_TYPE.API_KEY_REVOKED, user, at, { identifier, keyType }))
        closeKeyed((m) => m.keyId === keyId, 'API key revoked')
      },
    }
    for (const [name, fn] of Object.entries(listeners)) app.events.on(name as keyof DomainEventMap, fn as never)

    // --- revocation of key-authenticated sockets (USER_EVENTS_REQUIRE_KEY)
    function closeKeyed(match: (meta: UserEventsMeta) => boolean, detail: string) {
      if (!cfg.USER_EVENTS_REQUIRE_KEY) return
      hub.forEachConnection((conn: Connection) => {
        if (conn.kind !== CONNECTION_KIND) return
        const meta = conn.meta as UserEventsMeta
        if (meta.keyId !== null && match(meta)) conn.close(CLOSE.REVOKED, detail)
      })
    }
    /** A changed user may have lost the administrator flag its key needs. */
    async function recheckOwner(userId: number) {
      if (!cfg.USER_EVENTS_REQUIRE_KEY) return
      let any = false
      hub.forEachConnection((c) => {
        if (c.kind === CONNECTION_KIND && (c.meta as UserEventsMeta).userId === userId) any = true
      })
      if (!any) return
      try {
        const row = await app.prisma.user.findUnique({ where: { id: userId }, select: { rootAdmin: true } })
        if (!row?.rootAdmin) closeKeyed((m) => m.userId === userId, 'key owner is no longer an administrator')
      } catch (err) {
        log.error({ err }, 'could not re-check a user events key owner')
      }
    }

    // --- the extra port (seed: ws://host:<websocket.port>)
    const extraPort = cfg.USER_EVENTS_PORT
    let extra: ExtraServer | null = null
    if (extraPort !== undefined && (extraPort === 0 || extraPort !== cfg.PORT)) {
      app.addHook('onReady', async () => {
        extra = await startExtraServer({
          host: cfg.HOST,
          port: extraPort,
          check,
          onSocket: (ws, meta) => startSession({ hub, log }, ws, meta),
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
