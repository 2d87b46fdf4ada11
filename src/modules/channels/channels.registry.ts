/**
 * The channel family's connection limits: authenticated sockets in total and per user, and the
 * per-minute windows (per IP before authentication, per user after). The counts are the session
 * index's (it counts every family's sockets as they come and go); this only holds the limits and
 * the windows. Unauthenticated sockets do not count here: they have their own budget in the
 * session core (WS_MAX_PENDING), so they can never lock authenticated users out.
 */
import { CLOSE, type CloseCode } from '../realtime/close-codes.js'
import { WindowCounter } from './channels.limits.js'

export interface RegistryLimits {
  maxTotal: number
  maxPerUser: number
  perMinute: number
}

/** Authenticated channel sockets on this instance, in total and of one user. */
export interface ChannelCounts {
  total(): number
  ofUser(userId: number): number
}

export type Refusal = { code: CloseCode; error: 'too_many_connections' | 'rate_limited'; message: string }

export class ChannelRegistry {
  private readonly ipWindow: WindowCounter
  private readonly userWindow: WindowCounter

  constructor(
    private readonly limits: RegistryLimits,
    private readonly counts: ChannelCounts,
  ) {
    this.ipWindow = new WindowCounter(limits.perMinute, 60_000)
    this.userWindow = new WindowCounter(limits.perMinute, 60_000)
  }

  /** A new socket from `ip`: total limit (of authenticated sockets) and the per-IP window. */
  admit(ip: string, now = Date.now()): Refusal | null {
    const full = this.full()
    if (full) return full
    if (!this.ipWindow.hit(`ip:${ip}`, now)) {
      const s = this.ipWindow.retryAfterSec(`ip:${ip}`, now)
      return { code: CLOSE.RATE_LIMITED, error: 'rate_limited', message: `At most ${this.limits.perMinute} new channel sockets per minute from one address; retry in ${s} s.` }
    }
    return null
  }

  private full(): Refusal | null {
    if (this.counts.total() < this.limits.maxTotal) return null
    return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `The server accepts at most ${this.limits.maxTotal} channel sockets; retry later.` }
  }

  /**
   * First successful auth of a socket: the total again (sockets admitted together may have
   * authenticated since), per-user concurrency and the per-minute window.
   */
  checkUser(userId: number, now = Date.now()): Refusal | null {
    const full = this.full()
    if (full) return full
    if (this.counts.ofUser(userId) >= this.limits.maxPerUser) {
      return { code: CLOSE.TOO_MANY_CONNECTIONS, error: 'too_many_connections', message: `At most ${this.limits.maxPerUser} channel sockets per user; close one first.` }
    }
    if (!this.userWindow.hit(`u:${userId}`, now)) {
      const s = this.userWindow.retryAfterSec(`u:${userId}`, now)
      return { code: CLOSE.RATE_LIMITED, error: 'rate_limited', message: `At most ${this.limits.perMinute} new channel sockets per minute per user; retry in ${s} s.` }
    }
    return null
  }
}
