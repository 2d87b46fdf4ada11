/**
 * A token bucket (rate per second with a burst), used for per-connection message limits such as
 * Wings' console throttles. Pure: time comes from the caller.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number = Date.now(),
  ) {
    this.tokens = burst
    this.last = now
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number = Date.now()): boolean {
    const elapsed = (now - this.last) / 1000
    this.last = now
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSec)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
