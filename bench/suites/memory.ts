/**
 * Memory and set-up cost per idle authenticated socket (`--suites=memory`): one target process,
 * sockets opened in stages up to the largest count (default 1k, then 10k; connection i follows
 * device i mod 10), and after each stage two forced full GCs and a reading of the JS heap and RSS
 * (lib/proc.ts memorySnapshot; every target runs with --expose-gc and the harness's SIGUSR2
 * handler, nothing in wirehub itself).
 *
 * - **JS heap per socket**: (heap at the largest count − heap before any socket) / count. wirehub
 *   holds ~300 MB before its first socket, so its RSS per socket drowns in noise; the heap after
 *   a forced GC does not.
 * - **RSS slope**: (RSS at the largest count − RSS at the smallest) / (the difference in sockets):
 *   per-socket memory with the fixed baseline and the first stage's allocator growth cancelled.
 * - **Server CPU per new socket**: utime+stime during the stages / sockets, with and without the
 *   token fetch (wirehub fetches one socket token over REST per socket first; the load generator
 *   fetches them all, then the workers wait until the harness has read the CPU, then connect).
 * - With BENCH_HEAP_SNAPSHOT_DIR=<dir> (passed to every target), a heap snapshot before the first
 *   socket and one at the last stage: what each socket keeps alive, by object kind (count and
 *   bytes per socket), printed and kept in the JSON. Snapshots are large and slow; opt-in.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { cpuMs, memorySnapshot, sleep, takeHeapSnapshot, type MemorySnapshot } from '../lib/proc.js'
import { perSocketGrowth, summarizeSnapshot, type HeapSummary } from '../lib/heap-snapshot.js'
import { median } from '../lib/report.js'
import type { Target } from '../lib/targets.js'
import type { LoadGen } from '../loadgen/controller.js'

const DEVICES = 10

export interface MemoryPoint extends MemorySnapshot {
  sockets: number
}

export interface MemorySession {
  target: string
  round: number
  counts: number[]
  connected: number
  connectFailed: number
  connectErrors: string[]
  /** Before any socket, then after each stage. */
  points: MemoryPoint[]
  heapPerSocketKb: number
  rssSlopeKb: number
  /** Server CPU per new socket: connect + auth + subscribe (token fetch excluded), and the whole flow. */
  connectCpuUs: number
  connectCpuWithTokenUs: number
  connectPerSec: number
  /** Heap growth per socket by object kind (BENCH_HEAP_SNAPSHOT_DIR only): [kind, count, bytes]. */
  perSocketKinds?: Array<[string, number, number]>
}

export async function runMemory(lg: LoadGen, target: Target, counts: number[], round: number, opts: { log: (s: string) => void }): Promise<MemorySession> {
  const log = opts.log
  await sleep(1000)
  const points: MemoryPoint[] = [{ sockets: 0, ...(await memorySnapshot(target.pid)) }]
  const snapDir = process.env.BENCH_HEAP_SNAPSHOT_DIR
  const heapAt = async (): Promise<HeapSummary> => {
    const file = await takeHeapSnapshot(target.pid, snapDir!)
    try {
      return summarizeSnapshot(file)
    } finally {
      // BENCH_HEAP_SNAPSHOT_KEEP=1 leaves the files for a retainer analysis in DevTools.
      if (!process.env.BENCH_HEAP_SNAPSHOT_KEEP) rmSync(file, { force: true })
    }
  }
  if (snapDir) mkdirSync(snapDir, { recursive: true })
  const heap0 = snapDir ? await heapAt() : null
  const devices = target.devices(DEVICES).map((d) => d.id)
  let connected = 0
  let failed = 0
  const errors: string[] = []
  let cpuTokens = 0
  let cpuConnect = 0
  let connectMs = 0
  for (const count of [...counts].sort((a, b) => a - b)) {
    const more = count - connected
    if (more <= 0) continue
    const cpu0 = cpuMs(target.pid)
    let cpuAtTokens = cpu0
    const r = await lg.connect(target.conn, more, devices, 100, connected, 'one', () => (cpuAtTokens = cpuMs(target.pid)))
    const cpu1 = cpuMs(target.pid)
    cpuTokens += cpuAtTokens - cpu0
    cpuConnect += cpu1 - cpuAtTokens
    connectMs += r.connectMs
    connected += r.ok
    failed += r.failed
    errors.push(...r.errors.slice(0, 5 - errors.length))
    await sleep(1500)
    const snap = await memorySnapshot(target.pid)
    points.push({ sockets: connected, ...snap })
    log(`  ${connected} sockets: heap ${(snap.heapUsed / 1048576).toFixed(1)} MB, RSS ${(snap.rss / 1048576).toFixed(1)} MB, connect ${Math.round(r.connectMs)} ms${r.errors.length ? `, errors: ${r.errors.join(' | ')}` : ''}`)
    if (r.failed > 0) break
  }
  const first = points[1]
  const last = points.at(-1)!
  const session: MemorySession = {
    target: target.name,
    round,
    counts,
    connected,
    connectFailed: failed,
    connectErrors: errors,
    points,
    heapPerSocketKb: connected > 0 ? round2((last.heapUsed - points[0]!.heapUsed) / connected / 1024) : NaN,
    rssSlopeKb: first && last.sockets > first.sockets ? round2((last.rss - first.rss) / (last.sockets - first.sockets) / 1024) : NaN,
    connectCpuUs: connected > 0 ? Math.round((cpuConnect * 1000) / connected) : NaN,
    connectCpuWithTokenUs: connected > 0 ? Math.round(((cpuConnect + cpuTokens) * 1000) / connected) : NaN,
    connectPerSec: connectMs > 0 ? Math.round(connected / (connectMs / 1000)) : NaN,
  }
  if (heap0 && connected > 0) {
    session.perSocketKinds = perSocketGrowth(heap0, await heapAt(), connected).slice(0, 25)
    log('  per socket, by object kind (count, bytes):')
    for (const [kind, count, bytes] of session.perSocketKinds.slice(0, 15)) log(`    ${kind.padEnd(64)} ${count.toFixed(2).padStart(6)}  ${Math.round(bytes).toString().padStart(6)} B`)
  }
  log(`  heap/socket ${session.heapPerSocketKb} KB, RSS slope ${session.rssSlopeKb} KB/socket, CPU/new socket ${session.connectCpuUs} µs (with token fetch ${session.connectCpuWithTokenUs} µs)`)
  await lg.close()
  return session
}

const round2 = (x: number) => Math.round(x * 100) / 100
const num = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—')
const ratio = (x: number, base: number | undefined) => (Number.isFinite(x) && base !== undefined && Number.isFinite(base) && base > 0 ? ` (${(x / base).toFixed(2)}×)` : '')

export function memoryTable(sessions: MemorySession[]): string {
  if (sessions.length === 0) return ''
  const targets = [...new Set(sessions.map((s) => s.target))]
  const rows = targets.map((target) => {
    const g = sessions.filter((s) => s.target === target)
    const mb = (f: (s: MemorySession) => number) => median(g.map(f)) / 1048576
    return {
      target,
      rounds: g.length,
      baseHeapMb: mb((s) => s.points[0]!.heapUsed),
      baseRssMb: mb((s) => s.points[0]!.rss),
      heap: median(g.map((s) => s.heapPerSocketKb)),
      slope: median(g.map((s) => s.rssSlopeKb)),
      cpu: median(g.map((s) => s.connectCpuUs)),
      cpuAll: median(g.map((s) => s.connectCpuWithTokenUs)),
      rate: median(g.map((s) => s.connectPerSec)),
    }
  })
  const base = rows.find((r) => r.target === 'bare-ws')
  const counts = sessions[0]!.counts.map((c) => num(c)).join(' → ')
  const out = [
    `\n**Idle authenticated sockets, ${counts}** (heap after two forced GCs; medians of ${rows[0]!.rounds} round(s); ratio to bare-ws in parentheses)\n`,
    '| target | heap / RSS before any socket | JS heap / socket | RSS slope / socket | server CPU / new socket (token fetch excluded) | with the token fetch | new sockets/s |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    out.push(
      `| ${r.target} | ${num(r.baseHeapMb, 1)} / ${num(r.baseRssMb, 0)} MB | ${num(r.heap, 2)} KB${ratio(r.heap, base?.heap)} | ${num(r.slope, 2)} KB${ratio(r.slope, base?.slope)} | ${num(r.cpu)} µs${ratio(r.cpu, base?.cpu)} | ${num(r.cpuAll)} µs${ratio(r.cpuAll, base?.cpuAll)} | ${num(r.rate)}${ratio(r.rate, base?.rate)} |`,
    )
  }
  return out.join('\n')
}
