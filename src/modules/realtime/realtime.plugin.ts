/**
 * Registers @fastify/websocket (one ws server for every socket route), the shared hub, the
 * session index and `app.sockets` (how a family serves its route), and the single revocation
 * path. Decorates `app.hub`, `app.sockets` and `app.originPolicy`. On shutdown every socket is
 * closed with 1012 "service restart", which every reconnecting client (Sockette in the
 * Pterodactyl panel, PteroJS, the SDK) follows.
 */
import fp from 'fastify-plugin'
import websocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import { compileOriginPolicy, type OriginPolicy } from '../../lib/origin-policy.js'
import { Hub } from './hub.js'
import { HubSocket } from './hub-socket.js'
import { CLOSE } from './close-codes.js'
import type { Broker } from './broker.js'
import { RedisBroker } from './redis-broker.js'
import { SessionIndex } from './session-index.js'
import { createSockets, type Sockets } from './sockets.js'
import { listenForRevocations } from './revocation.js'

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
    sockets: Sockets
    originPolicy: OriginPolicy
  }
}

export default fp(
  async function realtimePlugin(app, opts: { broker?: Broker }) {
    const cfg = app.config
    let hubRef: Hub | undefined
    await app.register(websocket, {
      options: {
        maxPayload: cfg.WS_MAX_PAYLOAD,
        perMessageDeflate: cfg.WS_PERMESSAGE_DEFLATE,
        // The option's type asks for the ws module's statics too; ws itself needs only the class.
        WebSocket: HubSocket as unknown as NonNullable<WebsocketPluginOptions['options']>['WebSocket'],
        // Every served socket is a hub connection; the hub closes them all at shutdown (ws's own
        // set would cost each socket a set slot and a close listener).
        clientTracking: false,
      },
      // Replaces @fastify/websocket's default, which closes sockets without a code (clients see
      // 1005, after which Sockette does not reconnect): every socket gets 1012.
      preClose(done) {
        const wss = app.websocketServer
        void (async () => {
          await hubRef?.close(CLOSE.RESTART)
          wss.close()
        })().then(() => done(), (err: Error) => done(err))
      },
    })
    const broker = opts.broker ?? (cfg.REDIS_URL ? new RedisBroker(cfg.REDIS_URL, app.log.child({ module: 'redis-broker' }), { prefix: cfg.REDIS_PREFIX }) : undefined)
    const hub = new Hub({
      ...(broker ? { broker } : {}),
      log: app.log.child({ module: 'hub' }),
      limits: { softLimitBytes: cfg.WS_BACKLOG_SOFT, hardLimitBytes: cfg.WS_BACKLOG_HARD, coalesceWrites: cfg.WS_COALESCE_WRITES },
      pingIntervalMs: cfg.WS_PING_INTERVAL * 1000,
    })
    app.decorate('hub', hub)
    app.decorate('originPolicy', compileOriginPolicy({ entries: cfg.ALLOWED_ORIGINS, allowMissing: cfg.ALLOW_MISSING_ORIGIN, selfOrigin: () => cfg.publicUrl }))
    const index = new SessionIndex({ maxPending: cfg.WS_MAX_PENDING, maxPendingPerIp: cfg.WS_MAX_PENDING_PER_IP })
    app.decorate('sockets', createSockets(app, { hub, index }))
    const stopListening = listenForRevocations(app.events, index)
    app.addHook('onClose', async () => stopListening())
    hubRef = hub
  },
  { name: 'realtime', dependencies: ['config', 'auth'] },
)
