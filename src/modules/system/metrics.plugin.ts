/**
 * Prometheus metrics at /metrics (prom-client). Gauges that mirror live state (open sockets,
 * hub counters) are computed at scrape time from the hub rather than updated on every message,
 * so the hot path pays nothing for them. Modules add their own metrics to `app.metrics.registry`
 * or use the shared counters below. METRICS_REQUIRE_KEY=true protects the route with an
 * administrator's application key.
 */
import fp from 'fastify-plugin'
import client from 'prom-client'
import { RedisBroker } from '../realtime/redis-broker.js'

export interface Metrics {
  registry: client.Registry
  /** Inbound socket messages by socket family and message type. */
  messagesIn: client.Counter<'socket' | 'type'>
  /** Refused credentials by surface (http, console, channels, users) and reason. */
  authFailures: client.Counter<'surface' | 'reason'>
  rateLimited: client.Counter<'surface'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp(
  async function metricsPlugin(app) {
    const registry = new client.Registry()
    client.collectDefaultMetrics({ register: registry, prefix: 'wirehub_' })
    const hub = app.hub

    const stats = app.sockets.index.stats
    const kinds = app.sockets.index.kinds
    // Socket counters live in the session core (plain numbers on the hot path) and HTTP counts
    // in the maps below; both are copied into the counters at scrape time.
    const httpAuthFailures = new Map<string, number>()
    let httpRateLimited = 0
    const metrics: Metrics = {
      registry,
      messagesIn: new client.Counter({
        name: 'wirehub_socket_messages_in_total',
        help: 'Inbound socket messages by socket family',
        labelNames: ['socket', 'type'],
        registers: [registry],
        collect() {
          this.reset()
          for (const kind of kinds) this.inc({ socket: kind, type: 'all' }, stats.messagesIn.get(kind) ?? 0)
        },
      }),
      authFailures: new client.Counter({
        name: 'wirehub_auth_failures_total',
        help: 'Refused credentials by surface (http, console, channels, user-events) and reason',
        labelNames: ['surface', 'reason'],
        registers: [registry],
        collect() {
          this.reset()
          for (const [key, n] of stats.authFailures) {
            const [surface = '', reason = ''] = key.split('|')
            this.inc({ surface, reason }, n)
          }
          for (const [reason, n] of httpAuthFailures) this.inc({ surface: 'http', reason }, n)
        },
      }),
      rateLimited: new client.Counter({
        name: 'wirehub_rate_limited_total',
        help: 'Requests or socket messages refused by a rate limit, by surface',
        labelNames: ['surface'],
        registers: [registry],
        collect() {
          this.reset()
          for (const [surface, n] of stats.rateLimitedBy) this.inc({ surface }, n)
          if (httpRateLimited > 0) this.inc({ surface: 'http' }, httpRateLimited)
        },
      }),
    }
    app.decorate('metrics', metrics)

    /** Open (or authenticated) sockets per family; every family is reported, at 0 too. */
    const perKind = (pred: (authenticated: boolean) => boolean) => {
      const counts = new Map<string, number>()
      for (const kind of kinds) counts.set(kind, 0)
      hub.forEachConnection((c) => {
        if (pred(c.authenticated)) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1)
      })
      return counts
    }
    new client.Gauge({
      name: 'wirehub_sockets_open',
      help: 'Open websockets by socket family',
      labelNames: ['socket'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [kind, n] of perKind(() => true)) this.set({ socket: kind }, n)
      },
    })
    new client.Gauge({
      name: 'wirehub_sockets_authenticated',
      help: 'Authenticated websockets by socket family',
      labelNames: ['socket'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [kind, n] of perKind((a) => a)) this.set({ socket: kind }, n)
      },
    })
    new client.Gauge({
      name: 'wirehub_sockets_pending',
      help: 'Unauthenticated console and channel sockets (budget WS_MAX_PENDING)',
      registers: [registry],
      collect() {
        this.set(app.sockets.index.pending)
      },
    })
    new client.Counter({
      name: 'wirehub_socket_disconnects_total',
      help: 'Closed websockets by socket family and close code (the code wirehub sent, or the peer\'s)',
      labelNames: ['socket', 'code'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [key, n] of stats.disconnects) {
          const [socket = '', code = ''] = key.split('|')
          this.inc({ socket, code }, n)
        }
      },
    })
    new client.Counter({
      name: 'wirehub_messages_published_total',
      help: 'Publications handed to the hub, by topic kind',
      labelNames: ['topic'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [kind, k] of hub.kindStats()) this.inc({ topic: kind }, k.published)
      },
    })
    new client.Counter({
      name: 'wirehub_messages_out_total',
      help: 'Messages written to sockets, by topic kind',
      labelNames: ['topic'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [kind, k] of hub.kindStats()) this.inc({ topic: kind }, k.delivered)
      },
    })
    new client.Counter({
      name: 'wirehub_messages_collapsed_total',
      help: 'Droppable messages collapsed or skipped for clients that fell behind',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(hub.collapsed)
      },
    })
    new client.Counter({
      name: 'wirehub_slow_consumer_disconnects_total',
      help: 'Sockets closed with 4008 because their must-deliver backlog overflowed',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(hub.slowDisconnects)
      },
    })
    const fanout = new client.Histogram({
      name: 'wirehub_publish_to_send_seconds',
      help: 'Time from publish to the last socket write of its fan-out (includes the Redis hop)',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    })
    hub.onFanout = (seconds) => fanout.observe(seconds)
    new client.Gauge({
      name: 'wirehub_redis_up',
      help: '1 when the Redis backplane is connected (absent without REDIS_URL)',
      registers: [registry],
      collect() {
        const b = hub.broker
        if (b instanceof RedisBroker) this.set(b.status === 'ready' ? 1 : 0)
      },
    })

    const httpDuration = new client.Histogram({
      name: 'wirehub_http_request_duration_seconds',
      help: 'HTTP request durations by route',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    })
    // Label children cached per method/route/status: observe() with a label object hashes and
    // sorts the labels on every call, which showed in the credential endpoint's profile.
    const durationByLabels = new Map<string, client.Histogram.Internal<'method' | 'route' | 'status_code'>>()
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched'
      const status = reply.statusCode
      const cacheKey = `${request.method} ${status} ${route}`
      let child = durationByLabels.get(cacheKey)
      if (!child) {
        child = httpDuration.labels({ method: request.method, route, status_code: String(status) })
        // Bounded by the route table times the methods and statuses used; unknown URLs share 'unmatched'.
        durationByLabels.set(cacheKey, child)
      }
      child.observe(reply.elapsedTime / 1000)
      if (request.authFailure) httpAuthFailures.set(request.authFailure, (httpAuthFailures.get(request.authFailure) ?? 0) + 1)
      if (status === 429) httpRateLimited++
      done()
    })

    app.get('/metrics', {
      schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['operations'], hide: false, response: { 200: { type: 'string' } } },
      // Scraped every few seconds like the probes: request lines stay below info (errors still log).
      logLevel: 'warn',
      config: { rateLimit: false },
      ...(app.config.METRICS_REQUIRE_KEY ? { onRequest: app.requireApplication } : {}),
      handler: async (_request, reply) => {
        reply.type(registry.contentType)
        return registry.metrics()
      },
    })
  },
  { name: 'metrics', dependencies: ['config', 'realtime', 'auth'] },
)
