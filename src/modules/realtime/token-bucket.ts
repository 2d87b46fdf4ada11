/**
 * A token bucket (rate per second with a burst), used for per-connection message limits such as
 * Wings' console throttles. Pure: time comes from the caller.
 */

/** A bucket's state; a socket session keeps it in its own fields (no object per socket). */
export interface BucketState {
  bucketTokens: number
  bucketLast: number
}

/** Takes one token from `b`; false when the bucket is empty. */
export function takeToken(b: BucketState, ratePerSec: number, burst: number, now: number = Date.now()): boolean {
  const elapsed = (now - b.bucketLast) / 1000
  b.bucketLast = now
  b.bucketTokens = Math.min(burst, b.bucketTokens + elapsed * ratePerSec)
  if (b.bucketTokens < 1) return false
  b.bucketTokens -= 1
  return true
}

export class TokenBucket implements BucketState {
  bucketTokens: number
  bucketLast: number

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number = Date.now(),
  ) {
    this.bucketTokens = burst
    this.bucketLast = now
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number = Date.now()): boolean {
    return takeToken(this, this.ratePerSec, this.burst, now)
  }
}
