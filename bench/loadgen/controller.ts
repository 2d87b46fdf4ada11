/**
 * The load generator as the harness sees it: W forked worker processes holding the N client
 * connections between them (connection i subscribes to device i mod D), and one forked
 * publisher process. Every request to a child has a timeout.
 */
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mergeHists, type Histogram } from '../lib/hist.js'
import { forkTs, stop } from '../lib/proc.js'
import type { Follow, PublishJob, PublishResult, TargetConn, WorkerCommand, WorkerEvent } from '../lib/protocol.js'

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url))

/** Source addresses for the clients: 127.0.0.2 … 127.0.0.9 (each has its own ephemeral port range). */
export const LOCAL_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`)

type Ev<K extends WorkerEvent['ev']> = Extract<WorkerEvent, { ev: K }>

class Child {
  private waiting: Array<{ ev: string; resolve: (e: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = []

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: { ev: string }) => {
      const i = this.waiting.findIndex((w) => w.ev === m.ev)
      if (i < 0) return
      const [w] = this.waiting.splice(i, 1)
      clearTimeout(w!.timer)
      w!.resolve(m)
    })
    proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) {
        clearTimeout(w.timer)
        w.reject(new Error(`child exited (${code}) while waiting for ${w.ev}`))
      }
    })
  }

  next<T>(ev: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w.timer !== timer)
        reject(new Error(`timeout (${timeoutMs} ms) waiting for ${ev}`))
      }, timeoutMs)
      this.waiting.push({ ev, resolve: resolve as (e: unknown) => void, reject, timer })
    })
  }

  request<T>(msg: unknown, ev: string, timeoutMs: number): Promise<T> {
    const p = this.next<T>(ev, timeoutMs)
    this.proc.send(msg as object)
    return p
  }
}

export interface Collected {
  received: number
  stale: number
  other: number
  closed: number
  pausedReceived: number
  hist: Histogram
}

export interface ConnectReport {
  ok: number
  failed: number
  tokenMs: number
  /** Wall time to open, authenticate and subscribe every socket (tokens already fetched). */
  connectMs: number
  errors: string[]
}

export class LoadGen {
  private readonly workers: Child[]
  private readonly publisher: Child
  private counts: number[] = []

  constructor(nWorkers: number) {
    this.workers = Array.from({ length: nWorkers }, () => new Child(forkTs(WORKER)))
    this.publisher = new Child(forkTs(PUBLISHER))
  }

  /**
   * Opens `n` connections spread over the workers; connection i subscribes to devices[i % D].
   * `offset` numbers them from there (the cluster suite opens N sockets as K calls, one per
   * instance, so together they are numbered 0…N−1 and every device gets N/D subscribers).
   * `follow: 'all'` subscribes every connection to every device instead (N subscribers each).
   */
  async connect(
    target: TargetConn,
    n: number,
    devices: number[],
    concurrency = 100,
    offset = 0,
    follow: Follow = 'one',
    /** Called once every worker has its tokens and before any connects (they wait for it). */
    onTokens?: () => void,
  ): Promise<ConnectReport> {
    const per = Math.ceil(n / this.workers.length)
    this.counts = this.workers.map((_, w) => Math.max(0, Math.min(per, n - w * per)))
    const timeout = 60_000 + n * 20
    const tokenWaits = this.workers.map((w) => w.next<Ev<'tokens'>>('tokens', timeout))
    const connWaits = this.workers.map((w) => w.next<Ev<'connected'>>('connected', timeout * 2))
    this.workers.forEach((w, i) => {
      const cmd: WorkerCommand = { cmd: 'connect', target, count: this.counts[i]!, firstIndex: offset + i * per, devices, localAddresses: LOCAL_ADDRESSES, concurrency, follow, waitForGo: !!onTokens }
      w.proc.send(cmd)
    })
    const tokens = await Promise.all(tokenWaits)
    if (onTokens) {
      onTokens()
      for (const w of this.workers) w.proc.send({ cmd: 'go' } satisfies WorkerCommand)
    }
    const conns = await Promise.all(connWaits)
    return {
      ok: conns.reduce((a, c) => a + c.ok, 0),
      failed: conns.reduce((a, c) => a + c.failed, 0),
      tokenMs: Math.max(...tokens.map((t) => t.ms)),
      connectMs: Math.max(...conns.map((c) => c.ms)),
      errors: conns.flatMap((c) => c.errors),
    }
  }

  /** Worker pids, to measure the load generator's own CPU. */
  get workerPids(): number[] {
    return this.workers.map((w) => w.proc.pid!)
  }

  get publisherPid(): number {
    return this.publisher.proc.pid!
  }

  async reset(step: number): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request<Ev<'reset'>>({ cmd: 'reset', step }, 'reset', 10_000)))
  }

  async collect(): Promise<Collected> {
    const parts = await Promise.all(this.workers.map((w) => w.request<Ev<'collected'>>({ cmd: 'collect' }, 'collected', 30_000)))
    const sum = (k: 'received' | 'stale' | 'other' | 'closed' | 'pausedReceived') => parts.reduce((a, p) => a + p[k], 0)
    return { received: sum('received'), stale: sum('stale'), other: sum('other'), closed: sum('closed'), pausedReceived: sum('pausedReceived'), hist: mergeHists(parts.map((p) => p.hist)) }
  }

  /** Stops reading on connection `index` (slow-reader scenario); returns its device. */
  async pause(index: number): Promise<number> {
    const per = Math.ceil(this.counts.reduce((a, b) => a + b, 0) / this.workers.length)
    const w = this.workers[Math.floor(index / per)]!
    const r = await w.request<Ev<'paused'>>({ cmd: 'pause', index }, 'paused', 10_000)
    return r.device
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request<Ev<'closed'>>({ cmd: 'close' }, 'closed', 60_000)))
  }

  async publish(job: PublishJob): Promise<PublishResult> {
    return this.publisher.request<PublishResult & { ev: string }>({ cmd: 'run', job }, 'published', job.durationMs + 60_000)
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.workers.map((w) => stop(w.proc)), stop(this.publisher.proc)])
  }
}
