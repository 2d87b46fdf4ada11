/**
 * The one index of open socket sessions, whatever their family: by user, by credential and by
 * resource (e.g. `server:<uuid>`), plus the unauthenticated ("pending") sockets per address.
 * Every revocation goes through here (see revocation.ts, which listens to domain events once):
 * a revoked key or ended session closes exactly its sockets, a changed user or server has its
 * sockets re-evaluated in place, and `recheckAll` re-verifies every socket's credential (the
 * periodic sweep that bounds how long a revocation missed during a broker outage survives).
 *
 * It also holds the socket counters behind /metrics (messages in, auth failures, rate limits,
 * disconnects by close code) so they count on every family alike, and the counts the families'
 * connection limits read (open per family and address, authenticated per family, user and
 * resource), kept as sessions come and go so no limit scans or keeps a copy of its own.
 */
import { CLOSE, type CloseCode } from './close-codes.js'
import type { Session } from './session.js'

export interface PendingLimits {
  /** Unauthenticated sockets at once, all families together. */
  maxPending: number
  /** Unauthenticated sockets at once from one address. */
  maxPendingPerIp: number
}

export type AdmissionRefusal = { status: 429 | 503; code: CloseCode; message: string }

/** Plain counters read at scrape time (no prom-client import on the socket path). */
export class SocketStats {
  readonly messagesIn = new Map<string, number>()
  readonly authFailures = new Map<string, number>()
  readonly rateLimitedBy = new Map<string, number>()
  readonly disconnects = new Map<string, number>()

  messageIn(kind: string): void {
    bump(this.messagesIn, kind)
  }
  authFailure(kind: string, reason: string): void {
    bump(this.authFailures, `${kind}|${reason}`)
  }
  rateLimited(kind: string): void {
    bump(this.rateLimitedBy, kind)
  }
  disconnect(kind: string, code: number): void {
    bump(this.disconnects, `${kind}|${code}`)
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

function count(map: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}

function addTo<K>(map: Map<K, Set<Session>>, key: K, s: Session): void {
  let set = map.get(key)
  if (!set) map.set(key, (set = new Set()))
  set.add(s)
}

function removeFrom<K>(map: Map<K, Set<Session>>, key: K, s: Session): void {
  const set = map.get(key)
  if (!set) return
  set.delete(s)
  if (set.size === 0) map.delete(key)
}

export class SessionIndex {
  readonly stats = new SocketStats()
  /** Families seen (so their gauges report 0 instead of disappearing). */
  readonly kinds = new Set<string>()
  private readonly all = new Set<Session>()
  private readonly pendingByIp = new Map<string, Set<Session>>()
  private readonly byUser = new Map<number, Set<Session>>()
  private readonly byCred = new Map<string, Set<Session>>()
  private readonly byResource = new Map<string, Set<Session>>()
  private pendingCount = 0
  /** Open sessions by family, and by `family|address`. */
  private readonly openCount = new Map<string, number>()
  /** Authenticated (bound) sessions by family. */
  private readonly boundCount = new Map<string, number>()
  /** Authenticated sessions by `family|userId` (the per-user limits read it at every auth). */
  private readonly userKindCount = new Map<string, number>()

  constructor(private readonly limits: PendingLimits) {}

  /** Pre-upgrade admission of an unauthenticated socket from `ip`: null when admitted. */
  admit(ip: string): AdmissionRefusal | null {
    if ((this.pendingByIp.get(ip)?.size ?? 0) >= this.limits.maxPendingPerIp) {
      return { status: 429, code: CLOSE.TOO_MANY_CONNECTIONS, message: `At most ${this.limits.maxPendingPerIp} unauthenticated sockets at once from one address; authenticate or close one first.` }
    }
    if (this.pendingCount >= this.limits.maxPending) {
      return { status: 503, code: CLOSE.TOO_MANY_CONNECTIONS, message: `Too many unauthenticated sockets at once (${this.limits.maxPending}); retry later.` }
    }
    return null
  }

  get pending(): number {
    return this.pendingCount
  }

  get size(): number {
    return this.all.size
  }

  /** Open sessions of a family (from one address when `ip` is given). */
  openOf(kind: string, ip?: string): number {
    return this.openCount.get(ip === undefined ? kind : `${kind}|${ip}`) ?? 0
  }

  /** Sessions of a family that authenticated (since their first successful auth). */
  authenticatedOf(kind: string): number {
    return this.boundCount.get(kind) ?? 0
  }

  /** Authenticated sessions of a family for one user. */
  userCount(userId: number, kind: string): number {
    return this.userKindCount.get(`${kind}|${userId}`) ?? 0
  }

  /** Authenticated, open sessions of a family on one resource (e.g. a server's consoles). */
  resourceCount(resource: string, kind: string): number {
    let n = 0
    for (const s of this.byResource.get(resource) ?? EMPTY) if (s.family.kind === kind && s.state !== 'pending' && !s.closed) n++
    return n
  }

  add(s: Session): void {
    this.all.add(s)
    this.kinds.add(s.family.kind)
    count(this.openCount, s.family.kind, 1)
    count(this.openCount, `${s.family.kind}|${s.ip}`, 1)
    if (s.state === 'pending' && s.family.limits.authTimeoutSec > 0) {
      addTo(this.pendingByIp, s.ip, s)
      this.pendingCount++
    }
  }

  /** A (re-)authenticated session: leaves the pending budget, indexed by user and credential. */
  bind(s: Session, userId: number, cred: string | null): void {
    this.unpend(s)
    if (s.userId === null) count(this.boundCount, s.family.kind, 1)
    if (s.userId !== userId) {
      if (s.userId !== null) count(this.userKindCount, `${s.family.kind}|${s.userId}`, -1)
      count(this.userKindCount, `${s.family.kind}|${userId}`, 1)
    }
    if (s.userId !== null && s.userId !== userId) removeFrom(this.byUser, s.userId, s)
    if (s.cred !== null && s.cred !== cred) removeFrom(this.byCred, s.cred, s)
    s.userId = userId
    s.cred = cred
    addTo(this.byUser, userId, s)
    if (cred !== null) addTo(this.byCred, cred, s)
  }

  setResource(s: Session, resource: string): void {
    if (s.resource !== null) removeFrom(this.byResource, s.resource, s)
    s.resource = resource
    addTo(this.byResource, resource, s)
  }

  remove(s: Session, code: number): void {
    if (!this.all.delete(s)) return
    this.unpend(s)
    count(this.openCount, s.family.kind, -1)
    count(this.openCount, `${s.family.kind}|${s.ip}`, -1)
    if (s.userId !== null) {
      count(this.boundCount, s.family.kind, -1)
      count(this.userKindCount, `${s.family.kind}|${s.userId}`, -1)
      removeFrom(this.byUser, s.userId, s)
    }
    if (s.cred !== null) removeFrom(this.byCred, s.cred, s)
    if (s.resource !== null) removeFrom(this.byResource, s.resource, s)
    this.stats.disconnect(s.family.kind, code)
  }

  onResource(resource: string): ReadonlySet<Session> {
    return this.byResource.get(resource) ?? EMPTY
  }

  ofUser(userId: number): ReadonlySet<Session> {
    return this.byUser.get(userId) ?? EMPTY
  }

  forEach(fn: (s: Session) => void): void {
    for (const s of [...this.all]) fn(s)
  }

  // ------------------------------------------------------------------ the revocation path

  revokeCred(cred: string, detail: string): void {
    for (const s of [...(this.byCred.get(cred) ?? [])]) s.close(CLOSE.REVOKED, detail)
  }

  revokeUser(userId: number, detail: string): void {
    for (const s of [...(this.byUser.get(userId) ?? [])]) s.close(CLOSE.REVOKED, detail)
  }

  /** The user changed (admin flag, permissions): each of their sessions re-evaluates in place. */
  recheckUser(userId: number): void {
    for (const s of [...(this.byUser.get(userId) ?? [])]) s.recheck()
  }

  closeResource(resource: string, code: CloseCode, detail: string): void {
    for (const s of [...(this.byResource.get(resource) ?? [])]) s.close(code, detail)
  }

  /** Something about the resource changed (owner, subusers): re-evaluate its sessions in place. */
  recheckResource(resource: string, userId?: number): void {
    for (const s of [...(this.byResource.get(resource) ?? [])]) if (userId === undefined || s.userId === userId) s.recheck()
  }

  /**
   * Re-verifies the credential of every authenticated session (one lookup per distinct
   * credential) and closes, with 4010, those whose key or session is no longer active.
   * Returns how many were closed.
   */
  async recheckAll(isActive: (cred: string) => Promise<boolean>): Promise<number> {
    let closed = 0
    for (const cred of [...this.byCred.keys()]) {
      let active: boolean
      try {
        active = await isActive(cred)
      } catch {
        continue // a store outage is not a revocation; the next sweep tries again
      }
      if (active) continue
      const set = this.byCred.get(cred)
      if (!set) continue
      closed += set.size
      this.revokeCred(cred, 'The credential behind this socket is no longer active.')
    }
    return closed
  }

  private unpend(s: Session): void {
    const set = this.pendingByIp.get(s.ip)
    if (set?.has(s)) {
      removeFrom(this.pendingByIp, s.ip, s)
      this.pendingCount--
    }
  }
}

const EMPTY: ReadonlySet<Session> = new Set()
