/**
 * Counts failures per key inside a sliding window and locks the key out once a limit is reached
 * (login brute-force protection per account and per IP). Pure and in-memory; bounded in size so
 * an attacker spraying keys cannot grow memory without limit (the oldest entries go first).
 */
export interface FailureLimiterOptions {
  maxFailures: number
  windowMs: number
  maxKeys?: number
  now?: () => number
}

interface Entry {
  failures: number[]
  lockedUntil: number
}

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>()
  private readonly maxKeys: number
  private readonly now: () => number

  constructor(private readonly opts: FailureLimiterOptions) {
    this.maxKeys = opts.maxKeys ?? 100_000
    this.now = opts.now ?? Date.now
  }

  /** Milliseconds until the key may try again, or 0 when it is not locked out. */
  retryAfterMs(key: string): number {
    const entry = this.entries.get(key)
    if (!entry) return 0
    const left = entry.lockedUntil - this.now()
    return left > 0 ? left : 0
  }

  fail(key: string): void {
    const now = this.now()
    let entry = this.entries.get(key)
    if (!entry) {
      if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value as string)
      entry = { failures: [], lockedUntil: 0 }
      this.entries.set(key, entry)
    }
    const since = now - this.opts.windowMs
    entry.failures = entry.failures.filter((t) => t > since)
    entry.failures.push(now)
    if (entry.failures.length >= this.opts.maxFailures) entry.lockedUntil = now + this.opts.windowMs
  }

  succeed(key: string): void {
    this.entries.delete(key)
  }
}
