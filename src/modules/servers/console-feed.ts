/**
 * The console of one game server as wirehub sees it: the durable log (console-log.ts) followed
 * into the ring buffer (`send logs`, short resumes) and out to the sink (the console socket)
 * through the Wings throttle, and wirehub's own notices appended to the same log, numbered in
 * the same sequence. While a holder writes the log, notices wait until the game has ended (one
 * writer at a time): `queue` holds them, `say` writes them.
 */
import { OutputThrottle, RingBuffer, THROTTLE_NOTICE, daemonLine } from './console-buffer.js'
import { ConsoleLog, LogFollower, type LogLine } from './console-log.js'
import type { FastifyBaseLogger } from 'fastify'
import type { InstanceSink } from './supervisor.types.js'

export interface FeedOptions {
  uuid: string
  log: ConsoleLog
  sink: InstanceSink
  logger: FastifyBaseLogger
  bufferLines: number
  throttleLines: number
  throttlePeriodMs: number
  /** Sees every new game line before the throttle (so a flood cannot hide "Done" from it). */
  watch(text: string): void
}

export class ConsoleFeed {
  /** The tail of the durable log (what `send logs` and a short resume read). */
  readonly buffer: RingBuffer<LogLine>
  /** Number of the last line in the log that wirehub has seen. */
  lastSeq = 0
  /** Bytes the game wrote since it started (stats' tx). */
  tx = 0
  private readonly throttle: OutputThrottle
  private follower: LogFollower | null = null
  private pending: string[] = []
  private writes: Promise<unknown> = Promise.resolve()

  constructor(private readonly o: FeedOptions) {
    this.buffer = new RingBuffer(o.bufferLines)
    this.throttle = new OutputThrottle(o.throttleLines, o.throttlePeriodMs)
  }

  /** Loads the log's tail into memory; returns it. */
  async load(): Promise<LogLine[]> {
    const tail = await this.o.log.tail(this.o.bufferLines)
    for (const l of tail) this.buffer.push(l)
    this.lastSeq = tail.at(-1)?.seq ?? 0
    return tail
  }

  /** A game is about to start: follow the log from its current end (after pending notices). */
  async followFromEnd(): Promise<void> {
    await this.writes
    const follower = new LogFollower(this.o.log.file, (lines) => this.onLines(lines))
    await follower.start()
    this.follower = follower
    this.tx = 0
    this.throttle.reset()
  }

  /**
   * A running game was found again: lines written between the last one in memory and the
   * follower's start (wirehub was down) go first; what the follower reads meanwhile waits, or
   * its newer lines would hide them.
   */
  async followFromLastSeen(): Promise<void> {
    if (this.follower) return
    let held: LogLine[] | null = []
    this.follower = new LogFollower(this.o.log.file, (lines) => (held ? held.push(...lines) : this.onLines(lines)))
    await this.follower.start()
    this.onLines(await this.o.log.range(this.lastSeq, Number.MAX_SAFE_INTEGER))
    const later: LogLine[] = held
    held = null
    this.onLines(later)
  }

  /** Reads what the holder appended (the watcher usually did already). */
  poke(): Promise<void> {
    return this.follower?.poke() ?? Promise.resolve()
  }

  /** The game ended: read its last lines and stop following. */
  async stopFollowing(): Promise<void> {
    await this.follower?.poke()
    await this.follower?.close()
    this.follower = null
  }

  /** wirehub stops: let go of the log; pending writes finish. */
  async close(): Promise<void> {
    await this.follower?.close()
    await this.writes
  }

  /** The last `n` logged lines. */
  history(n: number): LogLine[] {
    return this.buffer.last(n)
  }

  /** Logged lines after `seq` (at most `limit`): from memory when it reaches back that far. */
  async since(seq: number, limit: number): Promise<LogLine[]> {
    const mem = this.buffer.last(this.buffer.size)
    if (mem.length > 0 && mem[0]!.seq <= seq + 1) return mem.filter((l) => l.seq > seq).slice(0, limit)
    return this.o.log.range(seq, limit)
  }

  /** A notice that waits until the game has ended (the holder writes the log until then). */
  queue(text: string): void {
    this.pending.push(text)
  }

  /** The queued notices, taken out. */
  takeQueued(): string[] {
    const out = this.pending
    this.pending = []
    return out
  }

  /** Appends wirehub's own lines to the log (after the game's) and publishes them. */
  say(...texts: string[]): Promise<void> {
    if (texts.length === 0) return this.writes.then(() => {})
    const lines = texts.map((t) => daemonLine(t))
    const write = this.writes.then(async () => {
      const logged = await this.o.log.append(lines, this.lastSeq).catch((err: unknown) => {
        this.o.logger.warn({ err }, 'console log write failed')
        return lines.map((text) => ({ seq: 0, ts: Date.now(), text }))
      })
      for (const l of logged) {
        if (l.seq > 0) {
          this.lastSeq = l.seq
          this.buffer.push(l)
        }
        this.o.sink.line(this.o.uuid, l.text, l.seq > 0 ? l.seq : undefined)
      }
    })
    this.writes = write
    return write
  }

  private onLines(lines: LogLine[]): void {
    const now = Date.now()
    for (const l of lines) {
      if (l.seq <= this.lastSeq) continue
      this.lastSeq = l.seq
      this.buffer.push(l)
      this.tx += Buffer.byteLength(l.text) + 1
      const verdict = this.throttle.check(now)
      if (verdict === 'strike') this.o.sink.line(this.o.uuid, daemonLine(THROTTLE_NOTICE))
      else if (verdict === 'pass') this.o.sink.line(this.o.uuid, l.text, l.seq)
      this.o.watch(l.text)
    }
  }
}
