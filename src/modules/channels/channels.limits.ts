/**
 * Pure limit bookkeeping for channel sockets (time comes from the caller): a sliding one-minute
 * window of new connections per key (user id, or IP before authentication), bounded in keys so a
 * spray of addresses cannot grow memory without limit.
 */
export class WindowCounter {
  private readonly hits = new Map<string, number[]>()

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Records one event for `key`; false (and nothing recorded) when the window is full. */
  hit(key: string, now: number): boolean {
    let list = this.hits.get(key)
    if (list) {
      const since = now - this.windowMs
      let drop = 0
      while (drop < list.length && list[drop]! <= since) drop++
      if (drop > 0) list.splice(0, drop)
      if (list.length >= this.limit) return false
    } else {
      if (this.hits.size >= this.maxKeys) this.prune(now)
      if (this.hits.size >= this.maxKeys) this.hits.delete(this.hits.keys().next().value as string)
      list = []
      this.hits.set(key, list)
    }
    list.push(now)
    return true
  }

  /** Seconds until `key` may connect again (0 when it may now). */
  retryAfterSec(key: string, now: number): number {
    const list = this.hits.get(key)
    if (!list || list.length < this.limit) return 0
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - now) / 1000))
  }

  private prune(now: number): void {
    const since = now - this.windowMs
    for (const [key, list] of this.hits) if (list.length === 0 || list[list.length - 1]! <= since) this.hits.delete(key)
  }
}
