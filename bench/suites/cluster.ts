/**
 * Cluster suite (issue 8, `--suites=cluster`): wirehub as K instances on one database with the
 * Redis backplane, K = 1, 2, 3 (K = 1 also without REDIS_URL, so the cost of Redis itself
 * shows). Per session: N client sockets spread evenly over the instances, D devices, and every
 * publication ingested by one instance in turn, so with K > 1 most deliveries cross Redis. It
 * reports the highest delivery rate with zero loss and p99 < 100 ms (the fan-out ramp,
 * lib/ramp.ts), latency and CPU per delivery (summed over every instance) at a fixed rate, and
 * Redis's share of the cost: redis-server's CPU as a share of instances + Redis, its commands/s
 * and bytes in and out, during that window and while idle (sockets open, nothing published).
 *
 * On one machine the instances, Redis and the load generator share the same cores: the figures
 * show the overhead of the cluster path, not scaling.
 */
import { execFileSync } from 'node:child_process'
import { ROOT, startWirehubInstances, stopTarget, createWirehubContext, dropWirehubContext, type Target, type WirehubContext } from '../lib/targets.js'
import { cpuMs, sleep } from '../lib/proc.js'
import { fmtStep, measureStep, rampPlan, rampToMax, type StepDriver, type StepResult } from '../lib/ramp.js'
import { RedisProbe, type RedisSample, type RedisWindow } from '../lib/redis.js'
import { median } from '../lib/report.js'
import type { PublishResult } from '../lib/protocol.js'
import type { LoadGen } from '../loadgen/controller.js'

export interface ClusterConfig {
  /** "1", "1 + Redis", "2 + Redis" … */
  label: string
  k: number
  redis: boolean
}

/** A step with what the instances and Redis spent during it. */
export interface ClusterStep extends StepResult {
  instancesCpuMs: number
  redis: RedisWindow
  /** Redis CPU / (instances' CPU + Redis CPU), %. */
  redisSharePct: number
  /** Redis CPU per publication ingested, µs. */
  redisCpuUsPerPublication: number
}

export interface ClusterSession {
  config: string
  k: number
  redis: boolean
  n: number
  d: number
  round: number
  /** Sockets connected on each instance. */
  sockets: number[]
  connectFailed: number
  connectErrors: string[]
  /** Redis subscribers of each device's telemetry channel once connected (expected: K each). */
  followers: number[]
  /** Sockets open, nothing published. */
  idle: { redis: RedisWindow; instancesCpuPct: number } | null
  maxRate: number
  steps: ClusterStep[]
  fixedRate: number
  fixed: ClusterStep | null
}

export interface ClusterResult {
  /** The wirehub measured: HEAD and the files under src/ that differed from it. */
  source: { commit: string; modified: string[] }
  redisUrl: string
  redisVersion: string
  redisPid: number | null
  sessions: ClusterSession[]
}

export interface ClusterOptions {
  ns: number[]
  ds: number[]
  rounds: number
  instances: number[]
  windowMs: number
  /** Deliveries/s of the fixed-rate window (the same for every K). */
  fixedRate: number
  /**
   * Length of the fixed-rate window. A multiple of 5 s, the period at which every instance
   * refreshes its connection slots in Redis, so each window holds the same number of refreshes.
   */
  fixedWindowMs: number
  idleMs: number
  log: (s: string) => void
}

export function clusterConfigs(instances: number[]): ClusterConfig[] {
  return instances.flatMap((k) => [...(k === 1 ? [{ label: '1', k: 1, redis: false }] : []), { label: `${k} + Redis`, k, redis: true }])
}

/**
 * The Redis channels a device's telemetry may travel on: `<REDIS_PREFIX>t:telemetry:<id>`
 * (src/modules/realtime/redis-broker.ts) with the run's prefix, and with the default `wh:` for a
 * wirehub that does not read REDIS_PREFIX. Only one of them has subscribers.
 */
const deviceChannels = (prefix: string, id: number) => [`${prefix}t:telemetry:${id}`, `wh:t:telemetry:${id}`]

interface Session {
  lg: LoadGen
  probe: RedisProbe
  instances: Target[]
  n: number
  d: number
}

/** The step driver for K instances: CPU summed over them, publications spread over them. */
function driver(s: Session, onWindow: (w: { instancesCpuMs: number; redis: RedisWindow }) => void): StepDriver {
  const pids = s.instances.map((t) => t.pid)
  const sumCpu = () => pids.reduce((a, p) => a + cpuMs(p), 0)
  let r0: RedisSample | null = null
  let c0 = 0
  return {
    lg: s.lg,
    n: s.n,
    d: s.d,
    serverPids: pids,
    async onStart() {
      r0 = await s.probe.sample()
      c0 = sumCpu()
    },
    async onEnd() {
      const c1 = sumCpu()
      const r1 = await s.probe.sample()
      if (r0) onWindow({ instancesCpuMs: c1 - c0, redis: RedisProbe.window(r0, r1) })
    },
    publish: (step, pubRate, durationMs) => publishSpread(s, step, pubRate, durationMs),
  }
}

/**
 * Publishes through every instance's ingestion endpoint: one publisher job per instance, their
 * counts summing to what one job at `pubRate` would send (so the ramp's checks hold), started
 * 1/pubRate apart so the combined stream stays evenly spaced. Job k starts its device rotation
 * at a different device.
 */
async function publishSpread(s: Session, step: number, pubRate: number, durationMs: number): Promise<PublishResult> {
  const k = s.instances.length
  const total = Math.ceil((durationMs * pubRate) / 1000)
  const jobs = s.instances.map(async (t, i) => {
    const count = Math.floor(total / k) + (i < total % k ? 1 : 0)
    if (count === 0) return null
    await sleep(Math.min(1000, (i * 1000) / pubRate))
    const devices = t.devices(s.d)
    const shift = Math.floor((i * s.d) / k)
    // (count − ½) per window: the publisher plans ceil(window × rate), which is then exactly `count`.
    const rate = ((count - 0.5) * 1000) / durationMs
    return s.lg.publish({ step, mode: 'wirehub', url: t.httpUrl, devices: [...devices.slice(shift), ...devices.slice(0, shift)], rate, durationMs, batch: 1, maxInflight: 512 })
  })
  const results = (await Promise.all(jobs)).filter((r): r is PublishResult => r !== null)
  return {
    sent: results.reduce((a, r) => a + r.sent, 0),
    ok: results.reduce((a, r) => a + r.ok, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    errors: results.flatMap((r) => r.errors).slice(0, 3),
  }
}

/** A step, plus the one check a cluster needs beyond the fan-out's: nothing delivered twice. */
async function clusterStep(s: Session, rate: number, windowMs: number, minPubs?: number): Promise<ClusterStep> {
  let win: { instancesCpuMs: number; redis: RedisWindow } | null = null
  const step = await measureStep(driver(s, (w) => (win = w)), rate, windowMs, null, undefined, minPubs)
  if (step.received > step.expected) {
    step.pass = false
    step.why = [step.why, `${step.received - step.expected} duplicate deliveries`].filter(Boolean).join('; ')
  }
  // (Assigned in the driver's onEnd; TypeScript cannot see that through the callback.)
  const w = win as { instancesCpuMs: number; redis: RedisWindow } | null
  if (!w) throw new Error('cluster step finished without its Redis window')
  const { redis, instancesCpuMs } = w
  const round1 = (x: number) => Math.round(x * 10) / 10
  return {
    ...step,
    instancesCpuMs,
    redis,
    redisSharePct: round1((redis.cpuMs / (instancesCpuMs + redis.cpuMs)) * 100),
    redisCpuUsPerPublication: step.published > 0 ? round1((redis.cpuMs * 1000) / step.published) : NaN,
  }
}

const topCommands = (w: RedisWindow) =>
  Object.entries(w.byCommand)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${Math.round((v / w.elapsedMs) * 1000)}/s`)
    .join(', ')
const fmtRedis = (c: ClusterStep) =>
  `redis ${c.redis.cpuPct}% cpu (${c.redisSharePct}% of inst+redis), ${c.redis.commandsPerSec} cmd/s [${topCommands(c.redis)}], in ${Math.round(c.redis.netInPerSec / 1024)} KB/s out ${Math.round(c.redis.netOutPerSec / 1024)} KB/s`

async function runClusterSession(lg: LoadGen, ctx: WirehubContext, probe: RedisProbe, cfg: ClusterConfig, n: number, d: number, round: number, runTag: string, opts: ClusterOptions, plan: ReturnType<typeof rampPlan>): Promise<ClusterSession> {
  const log = opts.log
  const prefix = `whb-${runTag}:`
  if (cfg.redis) await probe.flush(['wh:', 'whb-'])
  const instances = await startWirehubInstances(ctx, cfg.k, (i) => ({
    NODE_NAME: `bench-${runTag}-r${round}k${cfg.k}${cfg.redis ? 'r' : 'm'}-${i}`,
    // The run's own prefix keeps its channels (`telemetry:all`, events) apart from any other
    // wirehub on this Redis; pub/sub channels are not per database.
    ...(cfg.redis ? { REDIS_URL: probe.url, REDIS_PREFIX: prefix } : {}),
  }))
  const s: Session = { lg, probe, instances, n, d }
  const result: ClusterSession = { config: cfg.label, k: cfg.k, redis: cfg.redis, n, d, round, sockets: [], connectFailed: 0, connectErrors: [], followers: [], idle: null, maxRate: 0, steps: [], fixedRate: opts.fixedRate, fixed: null }
  try {
    // N sockets, instance i taking the i-th contiguous share of the numbering 0…N−1, so every
    // instance holds subscribers of every device and each device has exactly N/D subscribers.
    const ids = instances[0]!.devices(d).map((x) => x.id)
    let offset = 0
    for (let i = 0; i < cfg.k; i++) {
      const count = Math.floor(n / cfg.k) + (i < n % cfg.k ? 1 : 0)
      const conn = await lg.connect(instances[i]!.conn, count, ids, 100, offset)
      offset += count
      result.sockets.push(conn.ok)
      result.connectFailed += conn.failed
      result.connectErrors.push(...conn.errors)
    }
    log(`  connected ${result.sockets.join(' + ')} of ${n}${result.connectErrors.length ? ` errors: ${result.connectErrors.slice(0, 3).join(' | ')}` : ''}`)
    if (result.connectFailed > 0) return result
    // Subscriptions reach Redis asynchronously: wait (bounded) until every instance follows every device.
    const deadline = performance.now() + 10_000
    do {
      await sleep(500)
      const counts = await probe.numsub(ids.flatMap((id) => deviceChannels(prefix, id)))
      result.followers = ids.map((_, i) => counts[2 * i]! + counts[2 * i + 1]!)
    } while (cfg.redis && result.followers.some((f) => f < cfg.k) && performance.now() < deadline)
    if (cfg.redis) log(`  Redis subscribers per device channel: ${[...new Set(result.followers)].join(',')} (expected ${cfg.k})`)

    const pids = instances.map((t) => t.pid)
    const r0 = await probe.sample()
    const c0 = pids.reduce((a, p) => a + cpuMs(p), 0)
    await sleep(opts.idleMs)
    const c1 = pids.reduce((a, p) => a + cpuMs(p), 0)
    const idleRedis = RedisProbe.window(r0, await probe.sample())
    result.idle = { redis: idleRedis, instancesCpuPct: Math.round(((c1 - c0) / idleRedis.elapsedMs) * 1000) / 10 }
    log(`  idle ${opts.idleMs} ms: instances ${result.idle.instancesCpuPct}% cpu; redis ${idleRedis.cpuPct}% cpu, ${idleRedis.commandsPerSec} cmd/s [${topCommands(idleRedis)}]`)

    const warm = await clusterStep(s, Math.min(plan.startRate, 10_000) / 2, 1000, 2)
    log(`  warm ${fmtStep(warm)}`)
    const ramp = await rampToMax((rate) => clusterStep(s, rate, opts.windowMs), { ...plan, log })
    result.steps = ramp.steps
    result.maxRate = ramp.best
    result.fixed = await clusterStep(s, opts.fixedRate, opts.fixedWindowMs)
    log(`  fixed ${fmtStep(result.fixed)}; ${fmtRedis(result.fixed)}`)
  } finally {
    await lg.close().catch(() => undefined)
    await Promise.all(instances.map(stopTarget))
  }
  return result
}

function sourceState(): ClusterResult['source'] {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim()
  try {
    return { commit: git('rev-parse', 'HEAD'), modified: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean) }
  } catch {
    return { commit: 'unknown', modified: [] }
  }
}

/** Runs every configuration for every N and D, rounds alternating the order of K. */
export async function runCluster(lg: LoadGen, opts: ClusterOptions): Promise<ClusterResult> {
  const probe = await RedisProbe.open()
  const ctx = await createWirehubContext({ uniqueIds: true })
  const runTag = Date.now().toString(36)
  const result: ClusterResult = { source: sourceState(), redisUrl: probe.url, redisVersion: probe.version, redisPid: probe.pid, sessions: [] }
  const src = result.source
  opts.log(`cluster: wirehub ${src.commit.slice(0, 7)}${src.modified.length ? ` with ${src.modified.length} uncommitted change(s) under src/` : ''}`)
  opts.log(`cluster: Redis ${probe.version} at ${probe.url}${probe.pid === null ? ' (not on this machine: no CPU figures)' : ` (pid ${probe.pid})`}`)
  const configs = clusterConfigs(opts.instances)
  try {
    for (const n of opts.ns) {
      for (const d of opts.ds) {
        if (n % d !== 0) throw new Error(`N (${n}) must be a multiple of D (${d})`)
        for (let round = 1; round <= opts.rounds; round++) {
          const order = round % 2 === 1 ? configs : [...configs].reverse()
          for (const cfg of order) {
            const plan = rampPlan(result.sessions.filter((x) => x.config === cfg.label && x.n === n && x.d === d).map((x) => x.maxRate))
            opts.log(`[${new Date().toISOString().slice(11, 19)}] cluster ${cfg.label} N=${n} D=${d} round ${round}/${opts.rounds}`)
            result.sessions.push(await runClusterSession(lg, ctx, probe, cfg, n, d, round, runTag, opts, plan))
          }
        }
      }
    }
  } finally {
    if (result.sessions.some((x) => x.redis)) await probe.flush(['wh:', 'whb-']).catch(() => undefined)
    probe.close()
    await dropWirehubContext(ctx)
  }
  return result
}

export interface ClusterSummary {
  config: string
  k: number
  redis: boolean
  n: number
  d: number
  rounds: number
  fixedRate: number
  maxRate: number
  p50Ms: number
  p99Ms: number
  /** Instances' CPU (summed) per delivery at the fixed rate, µs. */
  cpuUsPerDelivery: number
  instancesCpuPct: number
  redisCpuPct: number
  redisSharePct: number
  /** At the highest clean ramp step (more publications per window, so a finer CPU reading). */
  redisSharePctAtMax: number
  redisCpuUsPerPublication: number
  redisCpuUsPerPublicationAtMax: number
  redisCommandsPerSec: number
  redisPublishPerSec: number
  redisInKBs: number
  redisOutKBs: number
  /** Redis bytes in / out per publication at the fixed rate, beyond the idle window's rate. */
  redisInBytesPerPublication: number
  redisOutBytesPerPublication: number
  idleRedisCommandsPerSec: number
  idleRedisCpuPct: number
}

/** Bytes per publication in the fixed window, less what the same time idle costs. */
function perPublication(s: ClusterSession, k: 'netInPerSec' | 'netOutPerSec'): number {
  if (!s.fixed || !s.idle || s.fixed.published === 0) return NaN
  const pubPerSec = (s.fixed.published / s.fixed.redis.elapsedMs) * 1000
  return Math.max(0, Math.round((s.fixed.redis[k] - s.idle.redis[k]) / pubPerSec))
}

export function summarizeCluster(r: ClusterResult): ClusterSummary[] {
  const groups = new Map<string, ClusterSession[]>()
  for (const s of r.sessions) {
    const key = `${s.n}|${s.d}|${s.config}`
    groups.set(key, [...(groups.get(key) ?? []), s])
  }
  return [...groups.values()].map((g) => {
    const f = (pick: (x: ClusterStep) => number) => median(g.map((s) => (s.fixed ? pick(s.fixed) : NaN)))
    const atMax = (pick: (x: ClusterStep) => number) =>
      median(g.map((s) => {
        const top = s.steps.filter((x) => x.pass && x.rate === s.maxRate).at(-1)
        return top ? pick(top) : NaN
      }))
    return {
      config: g[0]!.config,
      k: g[0]!.k,
      redis: g[0]!.redis,
      n: g[0]!.n,
      d: g[0]!.d,
      rounds: g.length,
      fixedRate: g[0]!.fixedRate,
      maxRate: median(g.map((s) => s.maxRate)),
      // Latency only where nothing was lost (a lossy window's percentiles describe the survivors).
      p50Ms: f((x) => (x.received === x.expected ? x.p50Ms : NaN)),
      p99Ms: f((x) => (x.received === x.expected ? x.p99Ms : NaN)),
      cpuUsPerDelivery: f((x) => x.cpuUsPerDelivery || NaN),
      instancesCpuPct: f((x) => x.serverCpuPct),
      redisCpuPct: f((x) => x.redis.cpuPct),
      redisSharePct: f((x) => x.redisSharePct),
      redisSharePctAtMax: atMax((x) => x.redisSharePct),
      redisCpuUsPerPublication: f((x) => x.redisCpuUsPerPublication),
      redisCpuUsPerPublicationAtMax: atMax((x) => x.redisCpuUsPerPublication),
      redisCommandsPerSec: f((x) => x.redis.commandsPerSec),
      redisPublishPerSec: f((x) => Math.round(((x.redis.byCommand.publish ?? 0) / x.redis.elapsedMs) * 1000)),
      redisInKBs: f((x) => x.redis.netInPerSec / 1024),
      redisOutKBs: f((x) => x.redis.netOutPerSec / 1024),
      redisInBytesPerPublication: median(g.map((s) => perPublication(s, 'netInPerSec'))),
      redisOutBytesPerPublication: median(g.map((s) => perPublication(s, 'netOutPerSec'))),
      idleRedisCommandsPerSec: median(g.map((s) => s.idle?.redis.commandsPerSec ?? NaN)),
      idleRedisCpuPct: median(g.map((s) => s.idle?.redis.cpuPct ?? NaN)),
    }
  })
}

const num = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—')
const ratio = (x: number, base: number | undefined) => (Number.isFinite(x) && base !== undefined && Number.isFinite(base) && base > 0 ? ` (${(x / base).toFixed(2)}×)` : '')

export function clusterTable(r: ClusterResult): string {
  const rows = summarizeCluster(r)
  const out: string[] = []
  for (const cfg of [...new Set(rows.map((x) => `${x.n}|${x.d}`))]) {
    const group = rows.filter((x) => `${x.n}|${x.d}` === cfg)
    const { n, d, rounds, fixedRate } = group[0]!
    const base = group.find((x) => !x.redis)
    out.push(`\n**Cluster, N = ${num(n)}, D = ${d}** (medians of ${rounds} round(s); fixed rate ${num(fixedRate)} deliveries/s = ${num(fixedRate / (n / d), 1)} publications/s; ratio to 1 instance without Redis in parentheses)\n`)
    out.push('| instances | max zero-loss deliveries/s (p99 < 100 ms) | p50 @ fixed | p99 @ fixed | instances\' CPU / delivery @ fixed | CPU % instances / Redis @ fixed | Redis share of CPU @ fixed / @ max | Redis CPU / publication @ fixed / @ max | Redis commands/s (PUBLISH) @ fixed | Redis in / out @ fixed (bytes per publication) | Redis idle: commands/s, CPU |')
    out.push('|---|---|---|---|---|---|---|---|---|---|---|')
    for (const x of group) {
      out.push(
        `| ${x.config} | ${num(x.maxRate)}${ratio(x.maxRate, base?.maxRate)} | ${num(x.p50Ms, 1)} ms | ${num(x.p99Ms, 1)} ms${ratio(x.p99Ms, base?.p99Ms)} | ${num(x.cpuUsPerDelivery, 1)} µs${ratio(x.cpuUsPerDelivery, base?.cpuUsPerDelivery)} | ${num(x.instancesCpuPct)} / ${num(x.redisCpuPct, 1)} | ${num(x.redisSharePct, 1)} % / ${num(x.redisSharePctAtMax, 1)} % | ${num(x.redisCpuUsPerPublication)} / ${num(x.redisCpuUsPerPublicationAtMax)} µs | ${num(x.redisCommandsPerSec)} (${num(x.redisPublishPerSec)}) | ${num(x.redisInKBs, 1)} / ${num(x.redisOutKBs, 1)} KB/s (${num(x.redisInBytesPerPublication)} / ${num(x.redisOutBytesPerPublication)} B) | ${num(x.idleRedisCommandsPerSec)}, ${num(x.idleRedisCpuPct, 1)} % |`,
      )
    }
  }
  if (rows.some((x) => !x.redis)) out.push('\nThe Redis columns of the run without Redis are its background (whatever else used this Redis meanwhile).')
  return out.join('\n')
}
