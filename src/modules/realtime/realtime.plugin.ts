/**
 * Registers @fastify/websocket (one ws server for every socket route) and the shared hub, and
 * decorates `app.hub` and `app.originPolicy`. On shutdown every socket is closed with 1001.
 */
import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import { compileOriginPolicy, type OriginPolicy } from '../../lib/origin-policy.js'
import { Hub } from './hub.js'
import { CLOSE } from './close-codes.js'
import type { Broker } from './broker.js'
import { RedisBroker } from './redis-broker.js'

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
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
      },
      // Replaces @fastify/websocket's default, which closes sockets without a code (clients see
      // 1005): every socket gets 1001 "server shutting down", the documented reconnect code.
      preClose(done) {
        const wss = app.websocketServer
        void (async () => {
          await hubRef?.close(CLOSE.GOING_AWAY)
          for (const client of wss.clients) client.close(CLOSE.GOING_AWAY.code, CLOSE.GOING_AWAY.reason)
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
    hubRef = hub
  },
  { name: 'realtime', dependencies: ['config'] },
)
