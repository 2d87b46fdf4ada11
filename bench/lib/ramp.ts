/**
 * One measurement step and the rate ramp, shared by the fan-out suite (one server) and the
 * cluster suite (K wirehub instances): a step publishes at a target delivery rate for a window,
 * waits for the deliveries, and judges the step clean or not; the ramp looks for the highest
 * clean rate. Factored out of suites/fanout.ts so both suites apply the same criteria.
 */
import { summarize } from './hist.js'
import { median } from './report.js'
import { cpuMs, sleep, syscw } from './proc.js'
import type { PublishResult } from './protocol.js'
import type { LoadGen } from '../loadgen/controller.js'

export interface StepResult {
  /** Target deliveries/s (publications/s × subscribers per device). */
  rate: number
  pubRate: number
  durationMs: number
  planned: number
  published: number
  publishFailed: number
  expected: number
  received: number
  stale: number
  other: number
  closed: number
  /** Deliveries/s actually observed over the window. */
  achieved: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Server CPU per delivery over the window (incl. ingestion for wirehub), µs. */
  cpuUsPerDelivery: number
  /**
   * The server's write syscalls (`syscw` of /proc/<pid>/io: write, writev, sendmsg …) over the
   * window / deliveries: 1.0 when every frame is its own write; HTTP replies and database
   * queries are counted too (a few per publication, spread over its deliveries).
   */
  syscwPerDelivery: number
  /** CPU of the server, the load generator workers (summed) and the publisher over the window, % of one core. */
  serverCpuPct: number
  clientCpuPct: number
  publisherCpuPct: number
  pass: boolean
  why: string
  errors: string[]
}

/** What a step drives: the clients, the server processes to measure, and how to publish. */
export interface StepDriver {
  lg: LoadGen
  n: number
  d: number
  /** Deliveries one publication makes (default N/D: each device has N/D subscribers, batch 1). */
  perPublication?: number
  /** Server processes whose CPU is summed (one for a single target, K for a cluster). */
  serverPids: number[]
  /** Publishes at `pubRate` publications/s for `durationMs`, every publication tagged `step`. */
  publish(step: number, pubRate: number, durationMs: number): Promise<PublishResult>
  /** Called right before the CPU baseline and right after the final CPU reading (extra probes). */
  onStart?(): Promise<void> | void
  onEnd?(): Promise<void> | void
}

export const P99_LIMIT_MS = 100
const MIN_PUBS = 6
const MAX_RATE = 1_000_000
let stepSeq = 1

export async function measureStep(drv: StepDriver, rate: number, windowMs: number, pausedDevice: number | null = null, onTick?: () => void, minPubs = MIN_PUBS): Promise<StepResult> {
  const { lg, n, d } = drv
  const perPublication = drv.perPublication ?? n / d
  const pubRate = rate / perPublication
  const durationMs = Math.min(20_000, Math.max(windowMs, Math.ceil((minPubs / pubRate) * 1000)))
  const planned = Math.ceil((durationMs * pubRate) / 1000)
  const step = stepSeq++
  await lg.reset(step)
  await drv.onStart?.()
  const sumCpu = (pids: number[]) => pids.reduce((a, p) => a + cpuMs(p), 0)
  const sumSyscw = (pids: number[]) => pids.reduce((a, p) => a + syscw(p), 0)
  const cpu0 = sumCpu(drv.serverPids)
  const sys0 = sumSyscw(drv.serverPids)
  const wcpu0 = sumCpu(lg.workerPids)
  const pcpu0 = cpuMs(lg.publisherPid)
  const t0 = performance.now()
  const sampler = onTick ? setInterval(onTick, 100) : null
  const pub = await drv.publish(step, pubRate, durationMs)
  // Publications to the paused client's device are not expected to reach it.
  const pausedPubs = pausedDevice === null ? 0 : Math.ceil(pub.ok / d)
  const expected = pub.ok * perPublication - pausedPubs
  let c = await lg.collect()
  const drainUntil = performance.now() + 2000
  while (c.received < expected && performance.now() < drainUntil) {
    await sleep(200)
    c = await lg.collect()
  }
  if (sampler) clearInterval(sampler)
  const cpu = sumCpu(drv.serverPids) - cpu0
  const writes = sumSyscw(drv.serverPids) - sys0
  const elapsed = performance.now() - t0
  await drv.onEnd?.()
  const pct = (ms: number) => Math.round((ms / elapsed) * 100)
  const clientCpuPct = pct(sumCpu(lg.workerPids) - wcpu0)
  const publisherCpuPct = pct(cpuMs(lg.publisherPid) - pcpu0)
  const s = summarize(c.hist)
  c.hist.destroy()
  const why: string[] = []
  if (pub.failed > 0) why.push(`${pub.failed} publish errors`)
  if (pub.sent < planned) why.push(`publisher sent ${pub.sent}/${planned}`)
  else if (pub.elapsedMs > durationMs * 1.1 + 500) why.push(`publisher fell behind (${Math.round(pub.elapsedMs)} ms for a ${durationMs} ms window)`)
  if (c.received < expected) why.push(`lost ${expected - c.received}/${expected}`)
  if (c.other > 0) why.push(`${c.other} non-telemetry frames (collapse notices?)`)
  if (c.closed > 0) why.push(`${c.closed} sockets closed`)
  if (s.p99Ms >= P99_LIMIT_MS) why.push(`p99 ${s.p99Ms} ms`)
  return {
    rate,
    pubRate,
    durationMs,
    planned,
    published: pub.ok,
    publishFailed: pub.failed,
    expected,
    received: c.received,
    stale: c.stale,
    other: c.other,
    closed: c.closed,
    achieved: Math.round((c.received / Math.max(elapsed, durationMs)) * 1000),
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    maxMs: s.maxMs,
    cpuUsPerDelivery: c.received > 0 ? Math.round(((cpu * 1000) / c.received) * 100) / 100 : 0,
    syscwPerDelivery: c.received > 0 ? Math.round((writes / c.received) * 1000) / 1000 : 0,
    serverCpuPct: pct(cpu),
    clientCpuPct,
    publisherCpuPct,
    pass: why.length === 0,
    why: why.join('; '),
    errors: pub.errors,
  }
}

export const fmtStep = (s: StepResult) =>
  `${Math.round(s.rate)}/s ${s.pass ? 'ok ' : 'FAIL'} recv ${s.received}/${s.expected} p50 ${s.p50Ms} p99 ${s.p99Ms} ms cpu ${s.cpuUsPerDelivery} µs/del ${s.syscwPerDelivery} writes/del [cpu% srv ${s.serverCpuPct} cli ${s.clientCpuPct} pub ${s.publisherCpuPct}]${s.why ? ` (${s.why})` : ''}`

export interface RampOptions {
  /** First rate of the ramp (deliveries/s) and the multiplier between steps. */
  startRate: number
  factor: number
  maxSteps: number
  log: (s: string) => void
}

/**
 * Where a session's ramp starts, from the max rates earlier rounds found for the same target
 * and configuration: round 1 goes ×1.5 from 10k; later rounds ×1.2 from 0.6× their median.
 */
export function rampPlan(prior: number[]): Pick<RampOptions, 'startRate' | 'factor' | 'maxSteps'> {
  const clean = prior.filter((r) => r > 0)
  return clean.length ? { startRate: Math.round(median(clean) * 0.6), factor: 1.2, maxSteps: 6 } : { startRate: 10_000, factor: 1.5, maxSteps: 9 }
}

/**
 * Ramps `step(rate)` up from `startRate` until a step is not clean (a latency-only failure is
 * retried once: the machine is shared); if the first step already fails, halves the rate up to
 * three times. Returns the highest clean rate (0 if none) and every step run.
 */
export async function rampToMax<S extends StepResult>(step: (rate: number) => Promise<S>, opts: RampOptions): Promise<{ best: number; steps: S[] }> {
  const steps: S[] = []
  let rate = opts.startRate
  let best = 0
  for (let i = 0; i < opts.maxSteps && rate <= MAX_RATE; i++) {
    let s = await step(rate)
    steps.push(s)
    opts.log(`  step ${fmtStep(s)}`)
    if (!s.pass && s.received === s.expected && s.published === s.planned) {
      // Latency-only failure: this machine is shared, so one retry before concluding.
      s = await step(rate)
      steps.push(s)
      opts.log(`  retry ${fmtStep(s)}`)
    }
    if (!s.pass) break
    best = rate
    rate = Math.round(rate * opts.factor)
  }
  for (let i = 0; best === 0 && i < 3; i++) {
    rate = Math.round(rate / 2)
    const s = await step(rate)
    steps.push(s)
    opts.log(`  down ${fmtStep(s)}`)
    if (s.pass) best = rate
  }
  return { best, steps }
}
