/**
 * Reconnect timing: exponential backoff with FULL jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): `delay = random(0, min(cap, base * 2^attempt))`. Full jitter spreads a
 * crowd of clients that lost the same server over the whole window, so a restarted wirehub is
 * not hit by every client in the same millisecond.
 *
 * The clock and the random source are injectable so the scheduler is tested without waiting.
 */

export interface BackoffOptions {
  /** First window in ms (attempt 0 waits 0..baseMs). Default 500. */
  baseMs?: number
  /** Largest window in ms. Default 30 000. */
  capMs?: number
}

export const DEFAULT_BACKOFF = { baseMs: 500, capMs: 30_000 } as const

/** Timers, replaceable in tests. `setTimeout` returns an opaque handle. */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
}

/** Upper bound of the window for an attempt (0-based): `min(cap, base * 2^attempt)`. */
export function backoffWindow(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs
  const cap = opts.capMs ?? DEFAULT_BACKOFF.capMs
  // 2^attempt overflows to Infinity past ~1023; min() with cap keeps it finite.
  return Math.min(cap, base * 2 ** Math.max(0, attempt))
}

/** A full-jitter delay in ms for an attempt: uniformly in [0, backoffWindow(attempt)). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  return Math.floor(random() * backoffWindow(attempt, opts))
}

/**
 * Schedules one reconnect at a time. `schedule` waits a full-jitter delay for the current
 * attempt and then increments it; `reset` (called once a connection authenticated) starts over
 * from attempt 0; `cancel` drops a pending reconnect (client closed by the application).
 */
export class ReconnectScheduler {
  private attemptNo = 0
  private handle: unknown = null

  constructor(
    private readonly opts: BackoffOptions = {},
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.attemptNo
  }

  get pending(): boolean {
    return this.handle !== null
  }

  /** Runs `fn` after the next delay; replaces any pending run. Returns the delay in ms. */
  schedule(fn: () => void): number {
    this.cancel()
    const delay = backoffDelay(this.attemptNo, this.opts, this.random)
    this.attemptNo++
    this.handle = this.clock.setTimeout(() => {
      this.handle = null
      fn()
    }, delay)
    return delay
  }

  reset(): void {
    this.attemptNo = 0
  }

  cancel(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle)
    this.handle = null
  }
}
