/**
 * Medians over rounds, ratios to the bare-ws baseline, and the Markdown tables `npm run bench`
 * prints and bench/README.md quotes.
 */
import type { SessionResult } from '../suites/fanout.js'

export const median = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2
}

export interface FanoutSummary {
  target: string
  n: number
  d: number
  rounds: number
  maxRate: number
  halfP50Ms: number
  halfP99Ms: number
  p99At20kMs: number
  rssPerConnKb: number
  cpuUsPerDelivery: number
  /** CPU per delivery at the highest clean ramp step (fixed costs such as keepalive amortised). */
  cpuUsAtMax: number
  /** Server write syscalls per delivery at half the max rate (NaN in runs saved before it was measured). */
  syscwPerDelivery: number
  connectPerSec: number
  slowRssGrowthMb: number
  slowP99Ratio: number
}

export function summarizeFanout(sessions: SessionResult[]): FanoutSummary[] {
  const groups = new Map<string, SessionResult[]>()
  for (const s of sessions) {
    const k = `${s.n}|${s.d}|${s.target}`
    groups.set(k, [...(groups.get(k) ?? []), s])
  }
  return [...groups.values()].map((g) => ({
    target: g[0]!.target,
    n: g[0]!.n,
    d: g[0]!.d,
    rounds: g.length,
    maxRate: median(g.map((s) => s.maxRate)),
    halfP50Ms: median(g.map((s) => s.half?.p50Ms ?? NaN)),
    halfP99Ms: median(g.map((s) => s.half?.p99Ms ?? NaN)),
    p99At20kMs: median(g.map((s) => (s.fixed20k?.pass || (s.fixed20k && s.fixed20k.received === s.fixed20k.expected) ? s.fixed20k.p99Ms : NaN))),
    rssPerConnKb: median(g.map((s) => s.rssPerConnKb)),
    cpuUsPerDelivery: median(g.map((s) => s.half?.cpuUsPerDelivery ?? NaN)),
    cpuUsAtMax: median(g.map((s) => s.steps.filter((x) => x.pass && x.rate === s.maxRate).at(-1)?.cpuUsPerDelivery ?? NaN)),
    syscwPerDelivery: median(g.map((s) => s.half?.syscwPerDelivery ?? NaN)),
    connectPerSec: median(g.map((s) => s.connectPerSec)),
    slowRssGrowthMb: median(g.map((s) => s.slow?.rssGrowthMb ?? NaN)),
    slowP99Ratio: median(g.map((s) => s.slow?.p99Ratio ?? NaN)),
  }))
}

const num = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—')
const ratio = (x: number, base: number | undefined) => (Number.isFinite(x) && base !== undefined && Number.isFinite(base) && base > 0 ? ` (${(x / base).toFixed(2)}×)` : '')

export function fanoutTable(rows: FanoutSummary[]): string {
  const out: string[] = []
  const configs = [...new Set(rows.map((r) => `${r.n}|${r.d}`))]
  for (const cfg of configs) {
    const [n, d] = cfg.split('|').map(Number)
    const group = rows.filter((r) => r.n === n && r.d === d)
    const base = group.find((r) => r.target === 'bare-ws')
    out.push(`\n**N = ${num(n!)}, D = ${d}** (medians of ${group[0]!.rounds} round(s); ratio to bare-ws in parentheses)\n`)
    out.push('| target | max zero-loss deliveries/s (p99 < 100 ms) | p50 @ half | p99 @ half | p99 @ 20k/s | RSS / idle conn | CPU / delivery @ half | CPU / delivery @ max | write syscalls / delivery @ half | new auth sockets/s |')
    out.push('|---|---|---|---|---|---|---|---|---|---|')
    for (const r of group) {
      out.push(
        `| ${r.target} | ${num(r.maxRate)}${ratio(r.maxRate, base?.maxRate)} | ${num(r.halfP50Ms, 1)} ms${ratio(r.halfP50Ms, base?.halfP50Ms)} | ${num(r.halfP99Ms, 1)} ms${ratio(r.halfP99Ms, base?.halfP99Ms)} | ${num(r.p99At20kMs, 1)} ms${ratio(r.p99At20kMs, base?.p99At20kMs)} | ${num(r.rssPerConnKb, 1)} KB${ratio(r.rssPerConnKb, base?.rssPerConnKb)} | ${num(r.cpuUsPerDelivery, 1)} µs${ratio(r.cpuUsPerDelivery, base?.cpuUsPerDelivery)} | ${num(r.cpuUsAtMax, 1)} µs${ratio(r.cpuUsAtMax, base?.cpuUsAtMax)} | ${num(r.syscwPerDelivery, 3)}${ratio(r.syscwPerDelivery, base?.syscwPerDelivery)} | ${num(r.connectPerSec)}${ratio(r.connectPerSec, base?.connectPerSec)} |`,
      )
    }
    const slow = group.filter((r) => Number.isFinite(r.slowP99Ratio))
    for (const r of slow) out.push(`\nSlow reader (${r.target}): server RSS grew ${num(r.slowRssGrowthMb, 1)} MB during the window; others' p99 ×${num(r.slowP99Ratio, 2)} of the run without it.`)
  }
  return out.join('\n')
}
