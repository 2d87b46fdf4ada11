/**
 * Wings' per-event throttles (`router/websocket/limiter.go`): auth, log replays, commands and
 * everything else each have their own bucket, on top of the session core's flood budget. Only
 * the first refusal of an episode is answered (`throttled` naming the event), so a client that
 * keeps sending is not answered once per frame.
 */
import { TokenBucket } from '../realtime/token-bucket.js'
import { IN } from './console.messages.js'

type Limiter = 'auth' | 'logs' | 'command' | 'default'

/** Wings' limiter.go: [rate per second, burst]. */
const LIMITS: Record<Limiter, [number, number]> = { auth: [0.2, 2], logs: [0.2, 2], command: [1, 10], default: [1, 4] }

const limiterOf = (event: string): Limiter =>
  event === IN.AUTH ? 'auth' : event === IN.SEND_LOGS || event === IN.SEND_LOGS_SINCE ? 'logs' : event === IN.SEND_COMMAND ? 'command' : 'default'

/** The events a console serves; anything else is ignored, as Wings does. */
export const KNOWN_EVENTS: ReadonlySet<string> = new Set<string>(Object.values(IN))

export class WingsThrottles {
  private readonly buckets = new Map(Object.entries(LIMITS).map(([k, [rate, burst]]) => [k as Limiter, new TokenBucket(rate, burst)]))
  private readonly throttled = new Set<Limiter>()

  /**
   * `pass`, `drop`, or `notify` (the first drop of an episode: answer `throttled`). An auth the
   * server asked for (`renewal()` true: expiring, expired, access change) always passes.
   */
  take(event: string, renewal: () => boolean): 'pass' | 'drop' | 'notify' {
    const limiter = limiterOf(event)
    if (limiter === 'auth' && renewal()) return 'pass'
    if (this.buckets.get(limiter)!.take()) {
      this.throttled.delete(limiter)
      return 'pass'
    }
    if (this.throttled.has(limiter)) return 'drop'
    this.throttled.add(limiter)
    return 'notify'
  }
}
