/**
 * Bookkeeping of every open channel socket: the totals and per-user counts behind the
 * connection limits, the per-minute windows (per IP before authentication, per user after), and
 * indexes by user and by credential so a revoked key, ended session or deleted user closes
 * exactly its sockets without scanning the others.
 */
import { CLOSE, type CloseCode } from '../realtime/close-codes.js'
import { WindowCounter } from './channels.limits.js'

export interface RegisteredSocket {
  readonly userId: number | null
  readonly cred: string | null
  closeWith(code: CloseCode, errorCode: string, message: string): void
}

export interface RegistryLimits {
  maxTotal: number
  maxPerUser: number
  perMinute: number
}

export type Refusal = { code: CloseCode; error: string; message: string }

export class ChannelRegistry {
  readonly sockets = new Set<RegisteredSocket>()
  private readonly byUser = new Map<number, Set<RegisteredSocket>>()
  private readonly byCred = new Map<string, Set<RegisteredSocket>>()
  private readonly ipWindow: WindowCounter
  private readonly userWindow: WindowCounter

  constructor(private readonly limits: RegistryLimits) {
    this.ipWindow = new WindowCounter(limits.perMinute, 60_000)
    this.userWindow = new WindowCounter(limits.perMinute, 60_000)
  }

  /** A new socket from `ip`: total limit and the per-IP window. */
  admit(sock: RegisteredSocket, ip: string, now = Date.now()): Refusal | null {
    if (this.sockets.size >= this.limits.maxTotal) {
      return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `The server accepts at most ${this.limits.maxTotal} channel sockets; retry later.` }
    }
    if (!this.ipWindow.hit(`ip:${ip}`, now)) {
      const s = this.ipWindow.retryAfterSec(`ip:${ip}`, now)
      return { code: CLOSE.RATE_LIMITED, error: 'rate_limited', message: `At most ${this.limits.perMinute} new channel sockets per minute from one address; retry in ${s} s.` }
    }
    this.sockets.add(sock)
    return null
  }

  /** First successful auth of a socket: per-user concurrency and per-minute window. */
  checkUser(userId: number, now = Date.now()): Refusal | null {
    const count = this.byUser.get(userId)?.size ?? 0
    if (count >= this.limits.maxPerUser) {
      return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `At most ${this.limits.maxPerUser} channel sockets per user; close one first.` }
    }
    if (!this.userWindow.hit(`u:${userId}`, now)) {
      const s = this.userWindow.retryAfterSec(`u:${userId}`, now)
      return { code: CLOSE.RATE_LIMITED, error: 'rate_limited', message: `At most ${this.limits.perMinute} new channel sockets per minute per user; retry in ${s} s.` }
    }
    return null
  }

  bind(sock: RegisteredSocket, userId: number, cred: string, prevCred: string | null): void {
    let set = this.byUser.get(userId)
    if (!set) this.byUser.set(userId, (set = new Set()))
    set.add(sock)
    if (prevCred && prevCred !== cred) this.unindex(this.byCred, prevCred, sock)
    let c = this.byCred.get(cred)
    if (!c) this.byCred.set(cred, (c = new Set()))
    c.add(sock)
  }

  remove(sock: RegisteredSocket): void {
    this.sockets.delete(sock)
    if (sock.userId !== null) this.unindex(this.byUser, sock.userId, sock)
    if (sock.cred !== null) this.unindex(this.byCred, sock.cred, sock)
  }

  revokeCred(cred: string, message: string): void {
    for (const s of [...(this.byCred.get(cred) ?? [])]) s.closeWith(CLOSE.REVOKED, 'revoked', message)
  }

  revokeUser(userId: number, message: string): void {
    for (const s of [...(this.byUser.get(userId) ?? [])]) s.closeWith(CLOSE.REVOKED, 'revoked', message)
  }

  userCount(userId: number): number {
    return this.byUser.get(userId)?.size ?? 0
  }

  private unindex<K>(map: Map<K, Set<RegisteredSocket>>, key: K, sock: RegisteredSocket): void {
    const set = map.get(key)
    if (!set) return
    set.delete(sock)
    if (set.size === 0) map.delete(key)
  }
}
