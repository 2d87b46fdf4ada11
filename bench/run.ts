/**
 * `npm run bench` (tsx bench/run.ts): the wirehub benchmark of issue 3. Starts every target as
 * its own process, drives them with the forked load generator, alternates targets A/B/A/B over
 * rounds, prints medians as ratios to the bare-ws baseline and saves everything as JSON in
 * bench/results/<timestamp>.json. Flags: --n=1000,5000 --d=10,1 --rounds=3 --quick
 * --targets=bare-ws,socketio,wirehub[,hub] --suites=fanout,slow-reader,ingest,credential[,cluster]
 * --workers=2 --window=3000 (ms per ramp step); cluster suite: --instances=1,2,3 --fixed-rate=5000;
 * batch/wide scenarios: --batch-n=500 --batch-size=100 --batch-rate=50000 --wide-n=50
 * --wide-rate=20000; memory suite: --memory-n=1000,10000.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from './lib/args.js'
import { fanoutTable, summarizeFanout } from './lib/report.js'
import { createWirehubContext, dropWirehubContext, ROOT, startTarget, stopTarget, type TargetName, type WirehubContext } from './lib/targets.js'
import { LoadGen } from './loadgen/controller.js'
import { rampPlan } from './lib/ramp.js'
import { runSession, type SessionResult } from './suites/fanout.js'
import { runIngest, ingestTable, type IngestResult } from './suites/ingest.js'
import { runCredential, credentialTable, type CredentialResult } from './suites/credential.js'
import { runCluster, clusterTable, type ClusterResult } from './suites/cluster.js'
import { runScenario, scenarioTable, type ScenarioSession, type ScenarioSpec } from './suites/scenarios.js'
import { runMemory, memoryTable, type MemorySession } from './suites/memory.js'

const args = parseArgs(process.argv.slice(2))
const started = new Date()
const log = (s: string) => process.stdout.write(`${s}\n`)

async function main(): Promise<void> {
  const targets = args.targets as TargetName[]
  // (The cluster suite makes its own database.)
  const perTarget = ['fanout', 'batch', 'wide', 'memory'].some((s) => args.suites.includes(s))
  const needsWirehub = (perTarget && targets.includes('wirehub')) || args.suites.includes('ingest') || args.suites.includes('credential')
  const ctx: WirehubContext | null = needsWirehub ? await createWirehubContext() : null
  const lg = new LoadGen(args.workers)
  const sessions: SessionResult[] = []
  let ingest: IngestResult | null = null
  let credential: CredentialResult | null = null
  let cluster: ClusterResult | null = null
  const scenarios: ScenarioSession[] = []
  const memory: MemorySession[] = []
  /** Runs `fn` on a fresh process of every target, once per round, the order rotated each round. */
  const perTargetRounds = async (label: string, fn: (target: Awaited<ReturnType<typeof startTarget>>, round: number) => Promise<void>) => {
    for (let round = 1; round <= args.rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!)
      for (const name of order) {
        log(`[${new Date().toISOString().slice(11, 19)}] ${name} ${label} round ${round}/${args.rounds}`)
        const target = await startTarget(name, ctx)
        try {
          await fn(target, round)
        } finally {
          await lg.close().catch(() => undefined)
          await stopTarget(target)
        }
      }
    }
  }
  try {
    if (args.suites.includes('fanout')) {
      const maxN = Math.max(...args.ns)
      for (const n of args.ns) {
        for (const d of args.ds) {
          if (n % d !== 0) throw new Error(`N (${n}) must be a multiple of D (${d})`)
          for (let round = 1; round <= args.rounds; round++) {
            // A/B/A/B: every target once per round, order rotated between rounds.
            const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!)
            for (const name of order) {
              const plan = rampPlan(sessions.filter((s) => s.target === name && s.n === n && s.d === d).map((s) => s.maxRate))
              log(`[${new Date().toISOString().slice(11, 19)}] ${name} N=${n} D=${d} round ${round}/${args.rounds}`)
              const target = await startTarget(name, ctx)
              try {
                sessions.push(
                  await runSession(lg, target, n, d, round, {
                    windowMs: args.windowMs,
                    ...plan,
                    slowReader: args.suites.includes('slow-reader') && n === maxN && d === Math.max(...args.ds) && (name === 'wirehub' || name === 'hub'),
                    log,
                  }),
                )
              } finally {
                await lg.close().catch(() => undefined)
                await stopTarget(target)
              }
            }
          }
        }
      }
    }
    const specs: ScenarioSpec[] = []
    if (args.suites.includes('batch')) specs.push({ name: 'batch', n: args.batchN, d: 1, follow: 'one', batch: args.batchSize, rate: args.batchRate })
    if (args.suites.includes('wide')) specs.push({ name: 'wide', n: args.wideN, d: 10, follow: 'all', batch: 1, rate: args.wideRate })
    for (const spec of specs) {
      await perTargetRounds(`${spec.name} N=${spec.n}`, async (target, round) => {
        scenarios.push(await runScenario(lg, target, spec, round, { windowMs: args.windowMs, log }))
      })
    }
    if (args.suites.includes('memory')) {
      await perTargetRounds(`memory ${args.memoryN.join('→')}`, async (target, round) => {
        memory.push(await runMemory(lg, target, args.memoryN, round, { log }))
      })
    }
    if (args.suites.includes('ingest') && ctx) ingest = await runIngest(ctx, lg, { quick: args.quick, log })
    if (args.suites.includes('credential') && ctx) credential = await runCredential(ctx, { quick: args.quick, log })
    if (args.suites.includes('cluster')) {
      // Its own database and defaults: one N (1k quick, 2k otherwise) and D = 10 unless given.
      cluster = await runCluster(lg, {
        ns: args.given.includes('n') ? args.ns : [args.quick ? 1000 : 2000],
        ds: args.given.includes('d') ? args.ds : [10],
        rounds: args.rounds,
        instances: args.instances,
        windowMs: args.windowMs,
        fixedRate: args.fixedRate ?? 5000,
        fixedWindowMs: args.quick ? 5000 : 10_000,
        idleMs: args.quick ? 5000 : 10_000,
        log,
      })
    }
  } finally {
    await lg.shutdown()
    if (ctx) await dropWirehubContext(ctx)
  }
  const summary = summarizeFanout(sessions)
  const tables = [fanoutTable(summary), scenarios.length ? scenarioTable(scenarios) : '', memory.length ? memoryTable(memory) : '', ingest ? ingestTable(ingest) : '', credential ? credentialTable(credential) : '', cluster ? clusterTable(cluster) : ''].filter(Boolean).join('\n')
  log(`\n## wirehub benchmark, ${started.toISOString()}\n${tables}\n`)
  const dir = join(ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = args.out ?? join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ started: started.toISOString(), args, machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, summary, sessions, scenarios, memory, ingest, credential, cluster, tables }, null, 2))
  log(`saved ${file}`)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  },
)
