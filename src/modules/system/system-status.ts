/**
 * System status for the `system` channel: a sampler (CPU and memory of the machine, disk usage
 * of the data folder, all in percent, and the number of open sockets) and a publisher that runs
 * one timer per distinct period some socket asked for (`filters.frequency`), samples once per
 * tick (shared by every period within a second) and publishes to that period's topic. A period
 * whose last subscriber left stops its timer at the next tick.
 */
import { cpus, freemem, totalmem } from 'node:os'
import { statfs } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Hub } from '../realtime/hub.js'
import { SYSTEM_CODEC, systemStatusCodec, systemTopic, type SystemStatusPayload } from './system-status.codec.js'

const round1 = (n: number) => Math.round(n * 10) / 10

function cpuTimes(): { idle: number; total: number } {
  let idle = 0
  let total = 0
  for (const c of cpus()) {
    idle += c.times.idle
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq
  }
  return { idle, total }
}

export class SystemStatusSampler {
  private prev = cpuTimes()
  private lastCpu = 0
  private cached: { at: number; value: Promise<SystemStatusPayload> } | null = null

  constructor(
    private readonly dataDir: string,
    private readonly activeConnections: () => number,
  ) {}

  /**
   * One sample; timers of different periods firing together share it. The window must stay well
   * below the shortest period (1 s): a 1 s timer firing a millisecond early would otherwise get
   * the previous sample again, with the same timestamp.
   */
  sample(): Promise<SystemStatusPayload> {
    const now = Date.now()
    if (this.cached && now - this.cached.at < 200) return this.cached.value
    const value = this.take(now)
    this.cached = { at: now, value }
    return value
  }

  private async take(now: number): Promise<SystemStatusPayload> {
    const cur = cpuTimes()
    const dTotal = cur.total - this.prev.total
    if (dTotal > 0) {
      this.lastCpu = (1 - (cur.idle - this.prev.idle) / dTotal) * 100
      this.prev = cur
    }
    let disk = 0
    try {
      const s = await statfs(this.dataDir)
      const used = s.blocks - s.bfree
      disk = used + s.bavail > 0 ? (used / (used + s.bavail)) * 100 : 0
    } catch {
      // The data folder may not exist (PostgreSQL mode without files): report 0.
    }
    return {
      metrics: {
        cpu_usage: round1(Math.max(0, Math.min(100, this.lastCpu))),
        memory_usage: round1((1 - freemem() / totalmem()) * 100),
        disk_usage: round1(disk),
        active_connections: this.activeConnections(),
      },
      timestamp: new Date(now).toISOString(),
    }
  }
}

export function createSystemStatusPublisher(deps: { hub: Hub; sampler: SystemStatusSampler; log: FastifyBaseLogger }) {
  const { hub, sampler, log } = deps
  hub.registerCodec(SYSTEM_CODEC, systemStatusCodec)
  const timers = new Map<number, NodeJS.Timeout>()

  async function tick(periodMs: number): Promise<void> {
    const topic = systemTopic(periodMs)
    if (hub.subscriberCount(topic) === 0) {
      const t = timers.get(periodMs)
      if (t) clearInterval(t)
      timers.delete(periodMs)
      return
    }
    try {
      const payload = await sampler.sample()
      hub.publish({ topics: [topic], codec: SYSTEM_CODEC, payload, lane: 'droppable', collapseKey: 'system' })
    } catch (err) {
      log.warn({ err }, 'system status sample failed')
    }
  }

  return {
    /** Makes sure updates run every `periodMs` (call after subscribing a socket to its topic). */
    ensure(periodMs: number): void {
      if (timers.has(periodMs)) return
      const t = setInterval(() => void tick(periodMs), periodMs)
      t.unref()
      timers.set(periodMs, t)
    },
    get periods(): number[] {
      return [...timers.keys()]
    },
    stop(): void {
      for (const t of timers.values()) clearInterval(t)
      timers.clear()
    },
  }
}

export type SystemStatusPublisher = ReturnType<typeof createSystemStatusPublisher>
