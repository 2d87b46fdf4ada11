/**
 * Login brute-force protection: at most LOGIN_MAX_FAILURES password checks per account and
 * LOGIN_IP_MAX_FAILURES per IP within LOGIN_LOCKOUT, however many attempts run at once. An attempt
 * takes its point *before* the password is checked, in one atomic increment of the store
 * (rate-limiter-flexible), so a burst of concurrent guesses cannot all pass a "not locked yet"
 * check; a successful login gives the account its points back and the IP its one.
 *
 * The counters live in the database (shared by every instance, kept across restarts); with
 * REDIS_URL they live in Redis, with the database as the fallback while Redis is unreachable.
 * Account keys are SHA-256 hashes of the normalised email, so no address sits in Redis or in the
 * table.
 */
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { RateLimiterPrisma, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { FastifyBaseLogger } from 'fastify'
import type { Prisma } from '../../db/database.js'

export interface LoginLimiterOptions {
  prisma: Prisma
  redis: Redis | null
  /** REDIS_PREFIX, so deployments sharing a Redis keep their counters apart. */
  redisPrefix: string
  maxPerAccount: number
  maxPerIp: number
  windowSec: number
  log: FastifyBaseLogger
}

/** The outcome of `begin`: go ahead, or wait this long (seconds). */
export type LoginAdmission = { ok: true } | { ok: false; retryAfterSec: number }

/** Expired rows are removed this often (the store only ignores them). */
const CLEANUP_EVERY_MS = 10 * 60_000

export function createLoginLimiter(opts: LoginLimiterOptions) {
  const make = (name: string, points: number): RateLimiterAbstract => {
    const common = { points, duration: opts.windowSec, blockDuration: opts.windowSec }
    const db = new RateLimiterPrisma({
      ...common,
      storeClient: opts.prisma,
      tableName: 'loginLimit',
      keyPrefix: `login:${name}`,
      // Cleanup runs below, through our logger, not the library's console.warn.
      clearExpiredByTimeout: false,
    })
    if (!opts.redis) return db
    return new RateLimiterRedis({
      ...common,
      storeClient: opts.redis,
      keyPrefix: `${opts.redisPrefix}login:${name}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: db,
    })
  }
  const byAccount = make('account', opts.maxPerAccount)
  const byIp = make('ip', opts.maxPerIp)
  const accountKey = (email: string) => createHash('sha256').update(email).digest('hex')

  const cleanup = setInterval(() => {
    opts.prisma.loginLimit
      .deleteMany({ where: { expire: { lt: new Date() } } })
      .catch((err: unknown) => opts.log.warn({ err }, 'could not remove expired login counters'))
  }, CLEANUP_EVERY_MS)
  cleanup.unref()

  return {
    /**
     * Takes one point from the account and one from the IP. Refused when either is used up; a
     * store failure (database and Redis both unreachable) throws, so the login fails closed.
     */
    async begin(email: string, ip: string): Promise<LoginAdmission> {
      const limiters: Array<[RateLimiterAbstract, string]> = [
        [byAccount, accountKey(email)],
        [byIp, ip],
      ]
      const results = await Promise.allSettled(limiters.map(([l, key]) => l.consume(key)))
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (refused.length === 0) return { ok: true }
      // A refused attempt checks no password, so it gives back what it took from the other
      // budget: an IP that is locked out cannot go on draining a victim account's attempts.
      await Promise.allSettled(limiters.filter((_, i) => results[i]!.status === 'fulfilled').map(([l, key]) => l.reward(key, 1)))
      let waitMs = 0
      for (const r of refused) {
        if (!(r.reason instanceof RateLimiterRes)) throw r.reason
        waitMs = Math.max(waitMs, r.reason.msBeforeNext)
      }
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil(waitMs / 1000)) }
    },

    /** The password was right: the account starts afresh and the IP gets its point back. */
    async succeeded(email: string, ip: string): Promise<void> {
      await Promise.allSettled([byAccount.delete(accountKey(email)), byIp.reward(ip, 1)])
    },

    close(): void {
      clearInterval(cleanup)
    },
  }
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>
