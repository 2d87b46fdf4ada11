/**
 * Browser sessions for the dashboard: a random cookie value whose SHA-256 is stored, looked up
 * with a short cache like API keys. Login checks the password with scrypt and is protected by
 * per-account and per-IP failure lockouts.
 */
import { createHash } from 'node:crypto'
import type { Prisma } from '../../db/database.js'
import type { DomainEvents } from '../../lib/domain-events.js'
import { TooManyRequests, Unauthenticated } from '../../lib/errors.js'
import { dummyPasswordHash, randomToken, verifyPassword } from './password.js'
import type { AuthUser } from './principal.js'
import type { LoginLimiter } from './login-limiter.js'

export interface SessionServiceDeps {
  prisma: Prisma
  events: DomainEvents
  sessionTtlSec: number
  /** Per-account and per-IP attempt budget, taken before each password check. */
  loginLimiter: LoginLimiter
  cacheTtlMs?: number
}

interface CachedSession {
  id: number
  user: AuthUser
  expiresAt: number
  cachedUntil: number
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex')
const TOKEN_RE = /^[A-Za-z0-9]{43}$/

export class LoginLockedError extends TooManyRequests {
  constructor(readonly retryAfterSec: number) {
    super('Too many login attempts. Try again later.')
  }
}

export function createSessionService(deps: SessionServiceDeps) {
  const { prisma, events } = deps
  const ttl = deps.cacheTtlMs ?? 30_000
  const cache = new Map<string, CachedSession>()
  const limiter = deps.loginLimiter

  return {
    /** Verifies credentials and opens a session; returns the cookie value (shown once). */
    async login(email: string, password: string, ip: string, userAgent: string | undefined) {
      const account = email.trim().toLowerCase()
      const admission = await limiter.begin(account, ip)
      if (!admission.ok) throw new LoginLockedError(admission.retryAfterSec)
      const user = await prisma.user.findUnique({ where: { email: account } })
      // Hash even for unknown accounts so response time does not reveal which emails exist.
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()))
      if (!user || !ok) throw new Unauthenticated()
      await limiter.succeeded(account, ip)
      const token = randomToken(43)
      const session = await prisma.session.create({
        data: {
          tokenHash: hash(token),
          userId: user.id,
          ip,
          userAgent: userAgent?.slice(0, 512) ?? null,
          expiresAt: new Date(Date.now() + deps.sessionTtlSec * 1000),
        },
      })
      const ref = { id: user.id, uuid: user.uuid, email: user.email }
      events.emit('user.login', { user: ref, at: session.createdAt, ip })
      return { token, user: { ...ref, rootAdmin: user.rootAdmin }, sessionId: session.id }
    },

    async resolve(token: string): Promise<{ id: number; user: AuthUser } | undefined> {
      if (!TOKEN_RE.test(token)) return undefined
      const key = hash(token)
      const now = Date.now()
      const hit = cache.get(key)
      if (hit && hit.cachedUntil > now && hit.expiresAt > now) return hit
      const row = await prisma.session.findUnique({
        where: { tokenHash: key },
        include: { user: { select: { id: true, uuid: true, email: true, rootAdmin: true } } },
      })
      if (!row || row.expiresAt.getTime() <= now) {
        cache.delete(key)
        return undefined
      }
      const entry = { id: row.id, user: row.user, expiresAt: row.expiresAt.getTime(), cachedUntil: now + ttl }
      if (cache.size >= 10_000) cache.delete(cache.keys().next().value as string)
      cache.set(key, entry)
      return entry
    },

    async logout(token: string): Promise<void> {
      const key = hash(token)
      cache.delete(key)
      const row = await prisma.session.findUnique({ where: { tokenHash: key }, include: { user: true } })
      if (!row) return
      await prisma.session.delete({ where: { id: row.id } })
      const user = { id: row.user.id, uuid: row.user.uuid, email: row.user.email }
      events.emit('session.ended', { user, sessionId: row.id, at: new Date() })
      events.emit('user.logout', { user, at: new Date() })
    },

    /** The user's unexpired sessions, newest first (for "where am I signed in"). */
    async list(userId: number) {
      return prisma.session.findMany({
        where: { userId, expiresAt: { gt: new Date() } },
        orderBy: { createdAt: 'desc' },
        select: { id: true, ip: true, userAgent: true, createdAt: true, expiresAt: true },
      })
    },

    /** Ends one of the user's own sessions; false when it is not theirs or already gone. */
    async revoke(userId: number, sessionId: number): Promise<boolean> {
      const row = await prisma.session.findFirst({ where: { id: sessionId, userId }, include: { user: true } })
      if (!row) return false
      await prisma.session.delete({ where: { id: row.id } })
      const user = { id: row.user.id, uuid: row.user.uuid, email: row.user.email }
      events.emit('session.ended', { user, sessionId: row.id, at: new Date() })
      return true
    },

    async isActive(sessionId: number): Promise<boolean> {
      const row = await prisma.session.findUnique({ where: { id: sessionId }, select: { expiresAt: true } })
      return !!row && row.expiresAt.getTime() > Date.now()
    },

    /** Ids of the sessions in the cache (the revocation re-check verifies them). */
    cachedSessionIds(): number[] {
      return [...new Set([...cache.values()].map((v) => v.id))]
    },

    invalidateSession(sessionId: number) {
      for (const [k, v] of cache) if (v.id === sessionId) cache.delete(k)
    },

    invalidateUser(userId: number) {
      for (const [k, v] of cache) if (v.user.id === userId) cache.delete(k)
    },
  }
}

export type SessionService = ReturnType<typeof createSessionService>
