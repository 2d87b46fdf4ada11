/**
 * The channel family's connection limits: authenticated sockets in total and per user, and the
 * per-minute windows (per IP before authentication, per user after). Unauthenticated sockets
 * do not count here: they have their own budget in the session core (WS_MAX_PENDING), so they
 * can never lock authenticated users out. Revocation is the session index's job, not this one.
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
  private readonly byUser = new Map<number, Set<RegisteredSocket>>()
  /** Authenticated sockets (the ones WS_MAX_CONNECTIONS counts). */
  private authenticated = 0
  private readonly ipWindow: WindowCounter
  private readonly userWindow: WindowCounter

  constructor(private readonly limits: RegistryLimits) {
    this.ipWindow = new WindowCounter(limits.perMinute, 60_000)
    this.userWindow = new WindowCounter(limits.perMinute, 60_000)
  }

  /** A new socket from `ip`: total limit (of authenticated sockets) and the per-IP window. */
  admit(ip: string, now = Date.now()): Refusal | null {
    if (this.authenticated >= this.limits.maxTotal) {
      return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `The server accepts at most ${this.limits.maxTotal} channel sockets; retry later.` }
    }
    if (!this.ipWindow.hit(`ip:${ip}`, now)) {
      const s = this.ipWindow.retryAfterSec(`ip:${ip}`, now)
      return { code: CLOSE.RATE_LIMITED, error: 'rate_limited', message: `At most ${this.limits.perMinute} new channel sockets per minute from one address; retry in ${s} s.` }
    }
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

  /** Counts an authenticated socket (first successful auth; `cred`/`prevCred` kept for callers). */
  bind(sock: RegisteredSocket, userId: number, _cred: string, _prevCred: string | null): void {
    let set = this.byUser.get(userId)
    if (!set) this.byUser.set(userId, (set = new Set()))
    if (!set.has(sock)) this.authenticated++
    set.add(sock)
  }

  remove(sock: RegisteredSocket): void {
    if (sock.userId === null) return
    const set = this.byUser.get(sock.userId)
    if (set?.delete(sock)) this.authenticated--
    if (set?.size === 0) this.byUser.delete(sock.userId)
  }

  userCount(userId: number): number {
    return this.byUser.get(userId)?.size ?? 0
  }
}
