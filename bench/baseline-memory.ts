/**
 * `npx tsx bench/baseline-memory.ts [--snapshot] [--no-imports]`: what wirehub's memory is made
 * of before its first socket. Starts the server on a fresh database of its own (as the harness
 * does), once compiled (`node dist/server.js`, as production runs it; `npm run build` first) and
 * once through tsx (as `npm run bench` runs it), and prints for each, after two forced full GCs:
 * RSS split into anonymous and file-backed memory, the largest mappings, the V8 heap by space,
 * external / ArrayBuffer memory and threads; with `--snapshot`, the heap's largest object kinds
 * from a heap snapshot. Then, unless `--no-imports`, the RSS and heap that importing each runtime
 * dependency costs a fresh `node` on its own. The preload (lib/memory-probe.mjs) is plain
 * JavaScript so it adds no loader of its own. Not a test: numbers depend on the machine.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { createWirehubContext, dropWirehubContext, ROOT } from './lib/targets.js'
import { freePort, memorySnapshot, sleep, spawnServer, stop, waitPort, type MemorySnapshot } from './lib/proc.js'
import { summarizeSnapshot } from './lib/heap-snapshot.js'

const argv = new Set(process.argv.slice(2))
const log = (s: string) => process.stdout.write(`${s}\n`)
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`
const PROBE = join(ROOT, 'bench', 'lib', 'memory-probe.mjs')

interface Probe extends MemorySnapshot {
  arrayBuffers: number
  spaces: Record<string, number>
  heap: { physical: number; committed: number; malloced: number; peakMalloced: number }
  snapshot: string | null
}

function statusKb(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

/**
 * RSS per mapping name, largest first; anonymous mappings one by one with their virtual size
 * (a multi-GB reservation is WebAssembly memory with its guard region, 64 MiB ones are malloc
 * arenas of threads, V8's heap comes in 256 KiB pages).
 */
function mappings(pid: number): Array<[string, number]> {
  const by = new Map<string, number>()
  const anon: Array<[string, number]> = []
  let name = ''
  let size = 0
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head) {
      name = head[4] ?? ''
      size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16)
      if (!name) name = `[anon ${head[3]} ${mb(size)} virtual]`
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (!rss) continue
    const bytes = Number(rss[1]) * 1024
    if (name.startsWith('[anon ')) {
      // Large reservations (WebAssembly memories, V8's pointer cage) are listed whatever they hold.
      if (bytes >= 1048576 || size >= 2 ** 30) anon.push([name, bytes])
      by.set('[anon, all]', (by.get('[anon, all]') ?? 0) + bytes)
    } else by.set(name, (by.get(name) ?? 0) + bytes)
  }
  return [...by.entries(), ...anon].sort((a, b) => b[1] - a[1])
}

/** Prints a heap snapshot's largest node types, strings and object kinds. */
function printSnapshot(file: string): void {
  const h = summarizeSnapshot(file)
  log('  heap snapshot, self size by node type:')
  for (const [k, v] of [...h.byType].sort((a, b) => b[1] - a[1]).slice(0, 10)) log(`    ${k.padEnd(22)} ${mb(v)}`)
  const big = h.bigStrings.reduce((a, s) => a + s[1], 0)
  log(`  strings of 100 KB or more: ${h.bigStrings.length}, ${mb(big)} in all (mostly module sources V8 keeps for lazy compilation); the largest:`)
  for (const [k, v] of h.bigStrings.slice(0, 12)) log(`    ${JSON.stringify(k).padEnd(76)} ${mb(v)}`)
  log('  largest object kinds:')
  for (const [k, [, v]] of [...h.byKind].filter(([k]) => k !== 'string').sort((a, b) => b[1][1] - a[1][1]).slice(0, 20)) log(`    ${k.padEnd(70)} ${mb(v)}`)
}

async function measure(label: string, args: string[], env: NodeJS.ProcessEnv, snapDir: string | null): Promise<void> {
  const port = await freePort()
  const proc = spawnServer(['--expose-gc', ...args], { ...env, PORT: String(port), ...(snapDir ? { BENCH_HEAP_SNAPSHOT_DIR: snapDir } : {}) }, { cwd: ROOT })
  try {
    await waitPort(port, 120_000, proc)
    await sleep(3000)
    const pid = proc.pid!
    const p = (await memorySnapshot(pid, 120_000)) as Probe
    log(`\n### ${label}`)
    log(`  RSS ${mb(statusKb(pid, 'VmRSS'))} = anonymous ${mb(statusKb(pid, 'RssAnon'))} + file-backed ${mb(statusKb(pid, 'RssFile'))} + shared ${mb(statusKb(pid, 'RssShmem'))}; threads ${readdirSync(`/proc/${pid}/task`).length}`)
    log(`  V8 heap used ${mb(p.heapUsed)}: ${Object.entries(p.spaces).filter(([, v]) => v > 0).map(([k, v]) => `${k.replace('_space', '')} ${mb(v)}`).join(', ')}`)
    log(`  V8 heap resident ${mb(p.heap.physical)} (committed ${mb(p.heap.committed)}); V8's own malloc ${mb(p.heap.malloced)} (peak ${mb(p.heap.peakMalloced)})`)
    log(`  external ${mb(p.external)} (ArrayBuffers ${mb(p.arrayBuffers)})`)
    log('  largest mappings (RSS):')
    for (const [k, v] of mappings(pid).slice(0, 18)) log(`    ${k.replace(ROOT, '').padEnd(70)} ${mb(v)}`)
    if (snapDir) {
      writeFileSync(join(snapDir, 'take'), '')
      const s = (await memorySnapshot(pid, 300_000)) as Probe
      rmSync(join(snapDir, 'take'), { force: true })
      if (s.snapshot) {
        printSnapshot(s.snapshot)
        rmSync(s.snapshot, { force: true })
      }
    }
  } finally {
    await stop(proc, 5000)
  }
}

/** RSS and heap a fresh node spends on importing `spec` alone (after GC, minus an empty node). */
function importCost(spec: string): { rss: number; heap: number } | string {
  const code = `globalThis.gc(); const a = process.memoryUsage(); try { await import(${JSON.stringify(spec)}) } catch (e) { console.log(JSON.stringify({ error: String(e.message).slice(0, 80) })); process.exit(0) } globalThis.gc(); globalThis.gc(); const b = process.memoryUsage(); console.log(JSON.stringify({ rss: b.rss - a.rss, heap: b.heapUsed - a.heapUsed }))`
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } })
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { rss: number; heap: number; error?: string }
  return r.error ?? r
}

async function main(): Promise<void> {
  const ctx = await createWirehubContext()
  const snapDir = argv.has('--snapshot') ? mkdtempSync(join(tmpdir(), 'wirehub-heap-')) : null
  try {
    // The first start migrates the fresh database (the schema engine runs); later ones find it up to date.
    const tsx = ['--import', 'tsx', '--import', PROBE, 'src/server.ts']
    if (existsSync(join(ROOT, 'dist', 'server.js'))) {
      const dist = ['--import', PROBE, 'dist/server.js']
      await measure('node dist/server.js, first start (applies the migrations)', dist, ctx.env, null)
      await measure('node dist/server.js, database up to date (production)', dist, ctx.env, snapDir)
    } else {
      log('dist/server.js missing: run `npm run build` to measure the production start')
      await measure('node --import tsx src/server.ts, first start (applies the migrations)', tsx, ctx.env, null)
    }
    await measure('node --import tsx src/server.ts, database up to date (as npm run bench starts it)', tsx, ctx.env, null)
  } finally {
    await dropWirehubContext(ctx)
    if (snapDir) rmSync(snapDir, { recursive: true, force: true })
  }
  if (argv.has('--no-imports')) return
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const specs = [...Object.keys(pkg.dependencies), 'pino', './dist/generated/prisma/client.js', './dist/app.js']
  log('\n### import cost, each alone in a fresh node (after GC)')
  log('| module | RSS | JS heap |\n|---|---|---|')
  for (const spec of specs) {
    const r = importCost(spec)
    log(typeof r === 'string' ? `| ${spec} | — (${r}) | — |` : `| ${spec} | ${mb(r.rss)} | ${mb(r.heap)} |`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`baseline-memory failed: ${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  },
)
