/**
 * The Redis the cluster suite runs its instances against, seen from outside: the server's own
 * CPU (/proc/<process_id>/stat, when Redis runs on this machine) and its INFO counters, read
 * before and after a window, plus the guarded FLUSHDB that gives each session an empty database.
 *
 * The counters are server-wide (every database, every client): on a shared Redis they include
 * whatever else uses it, which is why the suite also measures an idle window and a run without
 * Redis (its background).
 */
import { existsSync } from 'node:fs'
import { Redis } from 'ioredis'
import { cpuMs } from './proc.js'

/** `BENCH_REDIS_URL`, default database 5 of the machine's Redis (flushed by the suite). */
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/5'

export interface RedisSample {
  at: number
  /** utime + stime of redis-server in ms; NaN when it does not run on this machine. */
  cpuMs: number
  commands: number
  netInBytes: number
  netOutBytes: number
  instantaneousOps: number
  /** Calls per command since start (INFO commandstats). */
  calls: Record<string, number>
}

/** One window's difference of two samples. */
export interface RedisWindow {
  elapsedMs: number
  cpuMs: number
  /** Redis CPU, % of one core. */
  cpuPct: number
  commandsPerSec: number
  /** INFO instantaneous_ops_per_sec at the end of the window (Redis's own ~1.6 s average). */
  instantaneousOps: number
  netInPerSec: number
  netOutPerSec: number
  commands: number
  netInBytes: number
  netOutBytes: number
  /** Calls per command during the window, most frequent first (e.g. publish, zadd, evalsha). */
  byCommand: Record<string, number>
}

const field = (info: string, name: string): number => {
  const m = new RegExp(`^${name}:(\\S+)`, 'm').exec(info)
  return m ? Number(m[1]) : NaN
}

export class RedisProbe {
  private constructor(
    private readonly client: Redis,
    readonly url: string,
    /** redis-server's pid if /proc shows it on this machine, else null. */
    readonly pid: number | null,
    readonly version: string,
  ) {}

  static async open(url = BENCH_REDIS_URL): Promise<RedisProbe> {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 })
    client.on('error', () => {})
    await client.connect()
    const info = await client.info('server')
    const pid = field(info, 'process_id')
    const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? '?'
    const host = new URL(url).hostname
    const local = (host === '127.0.0.1' || host === 'localhost' || host === '::1') && Number.isFinite(pid) && existsSync(`/proc/${pid}/stat`)
    return new RedisProbe(client, url, local ? pid : null, version)
  }

  async sample(): Promise<RedisSample> {
    const [info, stats] = await Promise.all([this.client.info('stats'), this.client.info('commandstats')])
    const calls: Record<string, number> = {}
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2])
    return {
      at: performance.now(),
      cpuMs: this.pid === null ? NaN : cpuMs(this.pid),
      commands: field(info, 'total_commands_processed'),
      netInBytes: field(info, 'total_net_input_bytes'),
      netOutBytes: field(info, 'total_net_output_bytes'),
      instantaneousOps: field(info, 'instantaneous_ops_per_sec'),
      calls,
    }
  }

  static window(a: RedisSample, b: RedisSample): RedisWindow {
    const elapsedMs = b.at - a.at
    const perSec = (x: number) => Math.round((x / elapsedMs) * 1000)
    const cpu = b.cpuMs - a.cpuMs
    return {
      elapsedMs: Math.round(elapsedMs),
      cpuMs: cpu,
      cpuPct: Math.round((cpu / elapsedMs) * 1000) / 10,
      commandsPerSec: perSec(b.commands - a.commands),
      instantaneousOps: b.instantaneousOps,
      netInPerSec: perSec(b.netInBytes - a.netInBytes),
      netOutPerSec: perSec(b.netOutBytes - a.netOutBytes),
      commands: b.commands - a.commands,
      netInBytes: b.netInBytes - a.netInBytes,
      netOutBytes: b.netOutBytes - a.netOutBytes,
      byCommand: Object.fromEntries(
        Object.entries(b.calls)
          .map(([k, v]) => [k, v - (a.calls[k] ?? 0)] as const)
          .filter(([, v]) => v > 0)
          .sort((x, y) => y[1] - x[1]),
      ),
    }
  }

  /** Subscriber counts of pub/sub channels (PUBSUB NUMSUB; pub/sub is not per database). */
  async numsub(channels: string[]): Promise<number[]> {
    const r = (await this.client.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>
    const out: number[] = []
    for (let i = 1; i < r.length; i += 2) out.push(Number(r[i]))
    return out
  }

  /**
   * Empties the suite's database. Refuses when it holds keys that start with none of `prefixes`
   * (wirehub's): then BENCH_REDIS_URL points at a database something else uses.
   */
  async flush(prefixes: string[]): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await this.client.scan(cursor, 'COUNT', 1000)
      const foreign = keys.find((k) => !prefixes.some((p) => k.startsWith(p)))
      if (foreign) throw new Error(`${this.url} holds keys that are not wirehub's (e.g. ${foreign}); set BENCH_REDIS_URL to an unused database index`)
      cursor = next
    } while (cursor !== '0')
    await this.client.flushdb()
  }

  close(): void {
    this.client.disconnect()
  }
}
