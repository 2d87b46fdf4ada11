/**
 * The revocation backstop. A revocation normally reaches every instance at once as a domain
 * event relayed over Redis; an event emitted while Redis is down, or while an instance's
 * subscription is reconnecting, is lost. So every instance also re-checks, every
 * REVOCATION_CHECK_INTERVAL seconds and right after Redis comes back, every credential it is
 * relying on — those of its open sockets and of its cached API keys and sessions — in one query
 * per kind, and drops what was revoked: sockets close with 4010, caches forget the entry. That
 * bounds how long a revoked credential can still be used anywhere to the interval (plus one
 * query), whatever happened to the broker.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Prisma } from '../../db/database.js'
import type { Connection } from '../realtime/connection.js'
import { CLOSE } from '../realtime/close-codes.js'
import type { ApiKeyService } from './api-keys.service.js'
import type { SessionService } from './sessions.service.js'
import { parseCredentialRef } from './principal.js'

export interface CredentialSweepDeps {
  prisma: Prisma
  /** The open sockets (the hub's `forEachConnection`). */
  forEachConnection: (fn: (conn: Connection) => void) => void
  apiKeys: Pick<ApiKeyService, 'cachedKeyIds' | 'invalidateKeyId'>
  sessions: Pick<SessionService, 'cachedSessionIds' | 'invalidateSession'>
  log: FastifyBaseLogger
  intervalMs: number
}

/** Closes the local sockets whose credential is in `revoked` (the socket side, in one place). */
export function closeRevokedSockets(forEachConnection: CredentialSweepDeps['forEachConnection'], revoked: ReadonlySet<string>): number {
  let closed = 0
  forEachConnection((conn) => {
    if (conn.closed || conn.credential === null || !revoked.has(conn.credential)) return
    conn.close(CLOSE.REVOKED, 'The credential behind this socket was revoked.')
    closed++
  })
  return closed
}

export function createCredentialSweep(deps: CredentialSweepDeps) {
  const { prisma, log } = deps
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null

  /** The credential refs (`k:<id>`, `s:<id>`) this instance relies on now. */
  function inUse(): { keys: Set<number>; sessions: Set<number> } {
    const keys = new Set(deps.apiKeys.cachedKeyIds())
    const sessions = new Set(deps.sessions.cachedSessionIds())
    deps.forEachConnection((conn) => {
      const cred = conn.credential === null ? null : parseCredentialRef(conn.credential)
      if (cred?.kind === 'key') keys.add(cred.id)
      else if (cred?.kind === 'session') sessions.add(cred.id)
    })
    return { keys, sessions }
  }

  async function check(): Promise<void> {
    const { keys, sessions } = inUse()
    if (keys.size === 0 && sessions.size === 0) return
    const [liveKeys, liveSessions] = await Promise.all([
      keys.size === 0 ? [] : prisma.apiKey.findMany({ where: { id: { in: [...keys] }, revokedAt: null }, select: { id: true } }),
      sessions.size === 0 ? [] : prisma.session.findMany({ where: { id: { in: [...sessions] }, expiresAt: { gt: new Date() } }, select: { id: true } }),
    ])
    const revoked = new Set<string>()
    const alive = { keys: new Set(liveKeys.map((r) => r.id)), sessions: new Set(liveSessions.map((r) => r.id)) }
    for (const id of keys) {
      if (alive.keys.has(id)) continue
      revoked.add(`k:${id}`)
      deps.apiKeys.invalidateKeyId(id)
    }
    for (const id of sessions) {
      if (alive.sessions.has(id)) continue
      revoked.add(`s:${id}`)
      deps.sessions.invalidateSession(id)
    }
    if (revoked.size === 0) return
    const closed = closeRevokedSockets(deps.forEachConnection, revoked)
    log.info({ credentials: revoked.size, sockets: closed }, 'revoked credentials found by the periodic re-check')
  }

  /** One re-check now (concurrent calls share it); failures are logged and retried next time. */
  function sweep(): Promise<void> {
    running ??= check()
      .catch((err: unknown) => log.warn({ err }, 'credential re-check failed'))
      .finally(() => (running = null))
    return running
  }

  return {
    sweep,
    start(): void {
      timer = setInterval(() => void sweep(), deps.intervalMs)
      timer.unref()
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      await running
    },
  }
}

export type CredentialSweep = ReturnType<typeof createCredentialSweep>
