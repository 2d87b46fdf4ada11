/**
 * The fan-out suite for one session (one target process, N connections, D devices): connect and
 * authenticate N sockets (connection rate, RSS per idle connection), ramp the delivery rate to
 * the highest one with zero loss and p99 < 100 ms, then measure p50/p99 and server CPU per
 * delivery at half that rate and at a fixed 20k deliveries/s; optionally the slow-reader
 * scenario (one client stops reading while the others receive at half the max rate).
 */
import { collectGarbage, rssBytes, sleep } from '../lib/proc.js'
import { fmtStep, measureStep, rampToMax, type StepResult } from '../lib/ramp.js'
import type { LoadGen } from '../loadgen/controller.js'
import type { Target } from '../lib/targets.js'

export type { StepResult } from '../lib/ramp.js'

export interface SlowReaderResult {
  rate: number
  reference: StepResult
  withSlow: StepResult
  rssBeforeMb: number
  rssPeakMb: number
  rssGrowthMb: number
  p99Ratio: number
}

export interface SessionResult {
  target: string
  n: number
  d: number
  round: number
  connected: number
  connectFailed: number
  connectErrors: string[]
  /** New authenticated (and subscribed) sockets per second, tokens already fetched. */
  connectPerSec: number
  tokenMs: number
  rssBeforeMb: number
  rssIdleMb: number
  rssPerConnKb: number
  maxRate: number
  steps: StepResult[]
  half: StepResult | null
  fixed20k: StepResult | null
  slow: SlowReaderResult | null
}

export interface FanoutOptions {
  windowMs: number
  /** First rate of the ramp (deliveries/s) and the multiplier between steps. */
  startRate: number
  factor: number
  maxSteps: number
  slowReader: boolean
  log: (s: string) => void
}

interface Ctx {
  lg: LoadGen
  target: Target
  n: number
  d: number
  opts: FanoutOptions
}

function runStep(ctx: Ctx, rate: number, windowMs: number, pausedDevice: number | null = null, onTick?: () => void, minPubs?: number): Promise<StepResult> {
  const { lg, target, n, d } = ctx
  const driver = {
    lg,
    n,
    d,
    serverPids: [target.pid],
    publish: (step: number, pubRate: number, durationMs: number) =>
      lg.publish({ step, mode: target.publishMode, url: target.httpUrl, devices: target.devices(d), rate: pubRate, durationMs, batch: 1, maxInflight: 512 }),
  }
  return measureStep(driver, rate, windowMs, pausedDevice, onTick, minPubs)
}

export async function runSession(lg: LoadGen, target: Target, n: number, d: number, round: number, opts: FanoutOptions): Promise<SessionResult> {
  const ctx: Ctx = { lg, target, n, d, opts }
  const log = opts.log
  await sleep(500)
  await collectGarbage(target.pid)
  const rss0 = rssBytes(target.pid)
  const conn = await lg.connect(target.conn, n, target.devices(d).map((x) => x.id))
  const connectPerSec = Math.round(conn.ok / (conn.connectMs / 1000))
  log(`  connected ${conn.ok}/${n} in ${Math.round(conn.connectMs)} ms (${connectPerSec}/s; tokens ${Math.round(conn.tokenMs)} ms)${conn.errors.length ? ` errors: ${conn.errors.join(' | ')}` : ''}`)
  await sleep(1500)
  await collectGarbage(target.pid)
  const rss1 = rssBytes(target.pid)
  const result: SessionResult = {
    target: target.name,
    n,
    d,
    round,
    connected: conn.ok,
    connectFailed: conn.failed,
    connectErrors: conn.errors,
    connectPerSec,
    tokenMs: Math.round(conn.tokenMs),
    rssBeforeMb: Math.round(rss0 / 1048576),
    rssIdleMb: Math.round(rss1 / 1048576),
    rssPerConnKb: Math.round(((rss1 - rss0) / Math.max(1, conn.ok) / 1024) * 100) / 100,
    maxRate: 0,
    steps: [],
    half: null,
    fixed20k: null,
    slow: null,
  }
  if (conn.failed > 0) {
    log(`  ${conn.failed} connections failed; skipping the rate ramp`)
    return result
  }
  // Warm-up (JIT, connection pools, first queries): one short unrecorded step.
  const warm = await runStep(ctx, Math.min(opts.startRate, 10_000) / 2, 1000, null, undefined, 2)
  log(`  warm ${fmtStep(warm)}`)
  // Ramp up; if the first step already fails, step down a few times.
  const { best, steps } = await rampToMax((rate) => runStep(ctx, rate, opts.windowMs), opts)
  result.steps.push(...steps)
  result.maxRate = best
  if (best > 0) {
    result.half = await runStep(ctx, best / 2, Math.round(opts.windowMs * 1.5))
    log(`  half ${fmtStep(result.half)}`)
  }
  result.fixed20k = await runStep(ctx, 20_000, opts.windowMs)
  log(`  20k  ${fmtStep(result.fixed20k)}`)
  if (opts.slowReader && best > 0 && result.half) {
    const device = await lg.pause(0)
    await sleep(200)
    const before = rssBytes(target.pid)
    let peak = before
    const withSlow = await runStep(ctx, best / 2, Math.round(opts.windowMs * 1.5), device, () => {
      peak = Math.max(peak, rssBytes(target.pid))
    })
    peak = Math.max(peak, rssBytes(target.pid))
    result.slow = {
      rate: best / 2,
      reference: result.half,
      withSlow,
      rssBeforeMb: Math.round(before / 1048576),
      rssPeakMb: Math.round(peak / 1048576),
      rssGrowthMb: Math.round(((peak - before) / 1048576) * 10) / 10,
      p99Ratio: result.half.p99Ms > 0 ? Math.round((withSlow.p99Ms / result.half.p99Ms) * 100) / 100 : 0,
    }
    log(`  slow ${fmtStep(withSlow)}; RSS ${result.slow.rssBeforeMb} → peak ${result.slow.rssPeakMb} MB; p99 ×${result.slow.p99Ratio}`)
  }
  await lg.close()
  return result
}
