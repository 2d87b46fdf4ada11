/**
 * @fastify/rate-limit on every route. It runs as a root onRequest hook *after* the principal is
 * resolved (modules/auth/auth.plugin.ts), so the bucket is the API key or session when one is
 * presented and valid, and the client IP otherwise (including every failed authentication).
 * With REDIS_URL the counters live in Redis, so the limit holds across instances; if Redis is
 * unreachable requests are let through (skipOnError) rather than refused.
 */
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { TooManyRequests } from '../../lib/errors.js'

export default fp(
  async function rateLimitPlugin(app) {
    const cfg = app.config
    const redis = cfg.REDIS_URL
      ? new Redis(cfg.REDIS_URL, { connectTimeout: 500, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n) => Math.min(n * 200, 2000) })
      : null
    redis?.on('error', () => {})
    if (redis) app.addHook('onClose', async () => redis.disconnect())
    await app.register(rateLimit, {
      global: false,
      ...(redis ? { redis, nameSpace: `${cfg.REDIS_PREFIX}rl:`, skipOnError: true } : {}),
      max: cfg.RATE_LIMIT_MAX,
      timeWindow: cfg.RATE_LIMIT_WINDOW * 1000,
      keyGenerator: (request) => request.principal?.rateKey ?? `ip:${request.ip}`,
      errorResponseBuilder: (_request, ctx) => {
        const err = new TooManyRequests(`Too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} seconds.`)
        return err
      },
    })
    // One root hook (so it also counts unknown routes and runs after the principal is known).
    // A root hook does not see per-route options by itself: honour `config: { rateLimit: false }`
    // (health probes) here.
    const limit = app.rateLimit()
    app.addHook('onRequest', async function rateLimitUnlessExempt(request, reply) {
      if ((request.routeOptions.config as { rateLimit?: unknown } | undefined)?.rateLimit === false) return
      return limit.call(this, request, reply)
    })
  },
  { name: 'rate-limit', dependencies: ['config', 'auth'] },
)
