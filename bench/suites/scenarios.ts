/**
 * Two fixed-rate scenarios where several frames reach the same socket close together, the case
 * coalesced writes are for (`--suites=batch,wide`):
 *
 * - **batch**: every publication carries a batch of readings (default 100) for one device that
 *   all N sockets (default 500) follow; each reading is its own message to every socket.
 *   wirehub: `{readings: [...]}` through ingestion; baselines: `{values: [...]}`, one send or emit
 *   per value and socket.
 * - **wide**: N sockets (default 50) each following all D = 10 devices, single-reading
 *   publications spread over the devices, at a fixed delivery rate (default 20k/s): every
 *   publication reaches every socket, like a dashboard watching a fleet.
 *
 * Per session (one target process): connect, one short unrecorded warm-up, then one measured
 * window at the scenario's rate: CPU and write syscalls per delivery, latency, loss.
 */
import { fmtStep, measureStep, type StepResult } from '../lib/ramp.js'
import { median } from '../lib/report.js'
import { sleep } from '../lib/proc.js'
import type { Follow } from '../lib/protocol.js'
import type { Target } from '../lib/targets.js'
import type { LoadGen } from '../loadgen/controller.js'

export type ScenarioName = 'batch' | 'wide'

export interface ScenarioSpec {
  name: ScenarioName
  /** Sockets. */
  n: number
  /** Devices published to (batch: 1, every socket follows it; wide: 10, every socket follows all). */
  d: number
  follow: Follow
  /** Readings per publication. */
  batch: number
  /** Deliveries per second of the measured window. */
  rate: number
}

export interface ScenarioSession {
  scenario: ScenarioName
  target: string
  round: number
  n: number
  d: number
  batch: number
  connected: number
  connectFailed: number
  connectErrors: string[]
  step: StepResult | null
}

/** Deliveries one publication makes in a scenario. */
export const perPublication = (s: ScenarioSpec): number => (s.follow === 'all' ? s.n : s.n / s.d) * s.batch

export async function runScenario(lg: LoadGen, target: Target, spec: ScenarioSpec, round: number, opts: { windowMs: number; log: (s: string) => void }): Promise<ScenarioSession> {
  await sleep(500)
  const devices = target.devices(spec.d)
  const conn = await lg.connect(target.conn, spec.n, devices.map((x) => x.id), 100, 0, spec.follow)
  opts.log(`  connected ${conn.ok}/${spec.n}${conn.errors.length ? ` errors: ${conn.errors.join(' | ')}` : ''}`)
  const result: ScenarioSession = { scenario: spec.name, target: target.name, round, n: spec.n, d: spec.d, batch: spec.batch, connected: conn.ok, connectFailed: conn.failed, connectErrors: conn.errors, step: null }
  if (conn.failed > 0) return result
  const driver = {
    lg,
    n: spec.n,
    d: spec.d,
    perPublication: perPublication(spec),
    serverPids: [target.pid],
    publish: (step: number, pubRate: number, durationMs: number) =>
      lg.publish({ step, mode: target.publishMode, url: target.httpUrl, devices, rate: pubRate, durationMs, batch: spec.batch, maxInflight: 512 }),
  }
  await sleep(1000)
  const warm = await measureStep(driver, spec.rate / 2, 1000, null, undefined, 2)
  opts.log(`  warm ${fmtStep(warm)}`)
  result.step = await measureStep(driver, spec.rate, opts.windowMs)
  opts.log(`  ${spec.name} ${fmtStep(result.step)}`)
  await lg.close()
  return result
}

interface ScenarioSummary {
  scenario: ScenarioName
  target: string
  n: number
  d: number
  batch: number
  rate: number
  rounds: number
  clean: number
  cpuUs: number
  syscw: number
  p50Ms: number
  p99Ms: number
  lossPct: number
}

function summarize(sessions: ScenarioSession[]): ScenarioSummary[] {
  const groups = new Map<string, ScenarioSession[]>()
  for (const s of sessions) groups.set(`${s.scenario}|${s.target}`, [...(groups.get(`${s.scenario}|${s.target}`) ?? []), s])
  return [...groups.values()].map((g) => {
    const steps = g.map((s) => s.step).filter((s): s is StepResult => !!s)
    return {
      scenario: g[0]!.scenario,
      target: g[0]!.target,
      n: g[0]!.n,
      d: g[0]!.d,
      batch: g[0]!.batch,
      rate: steps[0]?.rate ?? NaN,
      rounds: g.length,
      clean: steps.filter((s) => s.pass).length,
      cpuUs: median(steps.map((s) => s.cpuUsPerDelivery)),
      syscw: median(steps.map((s) => s.syscwPerDelivery ?? NaN)),
      p50Ms: median(steps.map((s) => s.p50Ms)),
      p99Ms: median(steps.map((s) => s.p99Ms)),
      lossPct: median(steps.map((s) => (s.expected > 0 ? ((s.expected - Math.min(s.received, s.expected)) / s.expected) * 100 : NaN))),
    }
  })
}

const num = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—')
const ratio = (x: number, base: number | undefined) => (Number.isFinite(x) && base !== undefined && Number.isFinite(base) && base > 0 ? ` (${(x / base).toFixed(2)}×)` : '')

export function scenarioTable(sessions: ScenarioSession[]): string {
  const rows = summarize(sessions)
  const out: string[] = []
  for (const name of ['batch', 'wide'] as const) {
    const group = rows.filter((r) => r.scenario === name)
    if (group.length === 0) continue
    const g = group[0]!
    const base = group.find((r) => r.target === 'bare-ws')
    const what =
      name === 'batch'
        ? `${num(g.batch)} readings per publication to ${num(g.n)} sockets following one device`
        : `${num(g.n)} sockets each following all ${g.d} devices`
    out.push(`\n**Scenario ${name}: ${what}, ${num(g.rate)} deliveries/s** (medians of ${g.rounds} round(s); ratio to bare-ws in parentheses)\n`)
    out.push('| target | clean windows | CPU / delivery | write syscalls / delivery | p50 | p99 | lost |')
    out.push('|---|---|---|---|---|---|---|')
    for (const r of group) {
      out.push(
        `| ${r.target} | ${r.clean}/${r.rounds} | ${num(r.cpuUs, 2)} µs${ratio(r.cpuUs, base?.cpuUs)} | ${num(r.syscw, 3)}${ratio(r.syscw, base?.syscw)} | ${num(r.p50Ms, 1)} ms${ratio(r.p50Ms, base?.p50Ms)} | ${num(r.p99Ms, 1)} ms${ratio(r.p99Ms, base?.p99Ms)} | ${num(r.lossPct, 2)} % |`,
      )
    }
  }
  return out.join('\n')
}
