/**
 * Pure pieces of the console pipeline, tested directly (no Fastify, no processes):
 * - `RingBuffer`: the last N console lines of a server (the tail of its durable log in memory);
 * - `LineSplitter`: turns stdout/stderr chunks into lines the way a terminal would, splitting on
 *   `\n`, `\r\n` and a lone `\r` (progress bars), keeping ANSI escapes, and cutting runaway lines
 *   at MAX_LINE_CHARS so one process cannot make a single unbounded string;
 * - `OutputThrottle`: Wings' console throttle, at most `lines` per `periodMs` window; past that,
 *   lines are dropped and the caller prints ONE notice per throttling episode.
 */
import { StringDecoder } from 'node:string_decoder'

/** Longest console line kept (64 KiB of text); the rest of a longer line starts a new line. */
export const MAX_LINE_CHARS = 65_536

/** Fixed-capacity FIFO; O(1) push, O(n) read of the tail. */
export class RingBuffer<T = string> {
  private readonly items: (T | undefined)[]
  private start = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer')
    this.items = new Array<T | undefined>(capacity)
  }

  get size(): number {
    return this.count
  }

  push(item: T): void {
    const end = (this.start + this.count) % this.capacity
    this.items[end] = item
    if (this.count < this.capacity) this.count++
    else this.start = (this.start + 1) % this.capacity
  }

  /** The last `n` items, oldest first. */
  last(n: number): T[] {
    const take = Math.max(0, Math.min(n, this.count))
    const out = new Array<T>(take)
    const first = this.start + this.count - take
    for (let i = 0; i < take; i++) out[i] = this.items[(first + i) % this.capacity] as T
    return out
  }

  clear(): void {
    this.items.fill(undefined)
    this.start = this.count = 0
  }
}

/**
 * Splits a byte stream into lines. UTF-8 sequences cut across chunks are reassembled; `\r\n`
 * counts as one break even when the `\r` ends one chunk and the `\n` starts the next.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private partial = ''
  /** The previous chunk ended with `\r`: a leading `\n` in the next one is the same break. */
  private pendingCR = false

  constructor(private readonly maxChars = MAX_LINE_CHARS) {}

  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk)
    const lines: string[] = []
    let i = 0
    if (this.pendingCR && text.charCodeAt(0) === 10) i = 1
    this.pendingCR = false
    let from = i
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      this.emit(this.partial + text.slice(from, i), lines)
      this.partial = ''
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++
        } else {
          this.pendingCR = true
        }
      }
      from = i + 1
    }
    if (from < text.length) {
      this.partial += text.slice(from)
      // Cut a runaway line now rather than buffering it without bound.
      while (this.partial.length >= this.maxChars) {
        lines.push(this.partial.slice(0, this.maxChars))
        this.partial = this.partial.slice(this.maxChars)
      }
    }
    return lines
  }

  /** The unterminated rest (at process exit). */
  flush(): string[] {
    const rest = this.partial + this.decoder.end()
    this.partial = ''
    this.pendingCR = false
    const lines: string[] = []
    if (rest.length > 0) this.emit(rest, lines)
    return lines
  }

  private emit(line: string, out: string[]): void {
    if (line.length <= this.maxChars) {
      out.push(line)
      return
    }
    for (let k = 0; k < line.length; k += this.maxChars) out.push(line.slice(k, k + this.maxChars))
  }
}

export type ThrottleVerdict = 'pass' | 'strike' | 'drop'

/**
 * Wings' console throttle: a fixed window of `periodMs` in which at most `lines` pass. The first
 * refused line of an episode is a `strike` (print the notice once); later ones are `drop`. The
 * episode ends when a line passes again (a new window).
 */
export class OutputThrottle {
  private windowStart = -Infinity
  private used = 0
  private struck = false

  constructor(
    private readonly lines: number,
    private readonly periodMs: number,
  ) {}

  check(now: number): ThrottleVerdict {
    if (now - this.windowStart >= this.periodMs) {
      this.windowStart = now
      this.used = 0
    }
    if (this.used < this.lines) {
      this.used++
      this.struck = false
      return 'pass'
    }
    if (this.struck) return 'drop'
    this.struck = true
    return 'strike'
  }

  /** Whether the current window has refused output (for the stats and tests). */
  get throttling(): boolean {
    return this.struck
  }

  reset(): void {
    this.windowStart = -Infinity
    this.used = 0
    this.struck = false
  }
}

/** The notice Wings prints once per throttling episode. */
export const THROTTLE_NOTICE = 'Server is outputting console data too quickly -- throttling...'

/** Wings' daemon prelude: `[yellow][bold][<App> Daemon]:[default] <text>` rendered to ANSI. */
export function daemonLine(text: string, app = 'wirehub'): string {
  return `\u001b[33m\u001b[1m[${app} Daemon]:\u001b[0m ${text}`
}
