/**
 * The figures of one game server that `stats` reports: memory and CPU of the game's process tree
 * (process-stats.ts), console bytes in and out, and the disk use of its folder (walked on its
 * own, slower timer: a big folder must not delay the stats).
 */
import { TreeSampler, directorySize } from './process-stats.js'
import type { ServerState, StatsSnapshot } from './supervisor.types.js'

export class ServerStats {
  memory = 0
  cpu = 0
  disk = 0
  /** Bytes written to the game's stdin since it started. */
  rx = 0
  /** Whether memory and CPU have been read since the game started. */
  sampled = false
  private sampler: TreeSampler | null = null

  constructor(private readonly folder: () => string) {}

  /** Follows a game (its pid, or its sandbox's). */
  track(pid: number): void {
    this.sampler = new TreeSampler(pid)
    this.sampled = false
  }

  get tracking(): boolean {
    return this.sampler !== null
  }

  /** A new game starts: counters from zero. */
  reset(): void {
    this.rx = this.memory = this.cpu = 0
    this.sampled = false
  }

  /** The game ended. */
  untrack(): void {
    this.sampler = null
    this.memory = this.cpu = 0
    this.sampled = false
  }

  /** Samples memory and CPU; false when no game is tracked. */
  async sample(): Promise<boolean> {
    if (!this.sampler) return false
    const s = await this.sampler.sample()
    this.memory = s.memoryBytes
    this.cpu = s.cpuPercent
    this.sampled = true
    return true
  }

  async measureDisk(): Promise<void> {
    try {
      this.disk = await directorySize(this.folder())
    } catch {
      /* keep the previous figure */
    }
  }

  snapshot(o: { alive: boolean; state: ServerState; startedAt: number | null; memoryLimitMb: number; tx: number }): StatsSnapshot {
    return {
      memory_bytes: o.alive ? this.memory : 0,
      memory_limit_bytes: o.memoryLimitMb * 1024 * 1024,
      cpu_absolute: o.alive ? this.cpu : 0,
      network: { rx_bytes: o.alive ? this.rx : 0, tx_bytes: o.alive ? o.tx : 0 },
      uptime: o.alive && o.startedAt !== null ? Date.now() - o.startedAt : 0,
      state: o.state,
      disk_bytes: this.disk,
    }
  }
}
