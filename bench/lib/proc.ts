/**
 * Child-process bookkeeping for the benchmark: every process the harness starts is registered
 * here and stopped on exit, on errors and on SIGINT/SIGTERM; plus /proc readers for a server's
 * CPU ticks and RSS, and small wait helpers (each one bounded in time).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'

const children = new Set<ChildProcess>()
let hooked = false

function hookExit(): void {
  if (hooked) return
  hooked = true
  const killAll = () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL')
      } catch {
        /* already gone */
      }
    }
  }
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`)
      killAll()
      process.exit(130)
    })
  }
}

function track<C extends ChildProcess>(c: C): C {
  hookExit()
  children.add(c)
  c.once('exit', () => children.delete(c))
  return c
}

const TSX = ['--import', 'tsx']

/** Forks a TypeScript module with IPC (load generator workers, the publisher). */
export function forkTs(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return track(fork(file, args, { execArgv: TSX, env: { ...process.env, ...env, BENCH_PARENT_PID: String(process.pid) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
}

/** Starts a server process (`node [--import tsx] file`), its own pid measured by /proc readers. */
export function spawnServer(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string; quiet?: boolean } = {}): ChildProcess {
  const c = spawn(process.execPath, args, {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, ...env, BENCH_PARENT_PID: String(process.pid) },
    stdio: ['ignore', opts.quiet ? 'ignore' : 'inherit', 'inherit'],
  })
  return track(c)
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stop(c: ChildProcess, graceMs = 3000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return
  const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()))
  c.kill('SIGTERM')
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs)
  await gone
  clearTimeout(t)
}

const CLK_TCK = 100 // Linux USER_HZ; /proc/<pid>/stat reports utime/stime in these ticks

/** utime + stime of a process, in milliseconds of CPU. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Field 2 (comm) may contain spaces; the fields after the closing paren are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return ((utime + stime) * 1000) / CLK_TCK
}

/** Asks a target (started with --expose-gc) to collect garbage, then lets it settle. */
export async function collectGarbage(pid: number, settleMs = 500): Promise<void> {
  try {
    process.kill(pid, 'SIGUSR2')
  } catch {
    /* gone */
  }
  await sleep(settleMs)
}

/** Write syscalls (write, writev, sendmsg …) a process has made so far: `syscw` of /proc/<pid>/io. */
export function syscw(pid: number): number {
  const m = /^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

/** Where a target (see watchParent) writes its memory figures after a forced GC. */
const memFile = (pid: number) => join(tmpdir(), `wirehub-bench-mem-${pid}.json`)

export interface MemorySnapshot {
  /** V8 heap in use after two full GCs, bytes. */
  heapUsed: number
  /** Memory of Buffers and other objects outside the V8 heap, bytes. */
  external: number
  rss: number
  /** Path of the heap snapshot written with it (see takeHeapSnapshot), else null. */
  snapshot?: string | null
}

/**
 * Forces two full GCs in a target started with --expose-gc (SIGUSR2, handled by watchParent)
 * and reads the heap it reports right after. Bench-only: nothing in wirehub answers it; the
 * signal handler lives in the harness's preloaded watchdog.
 */
export async function memorySnapshot(pid: number, timeoutMs = 10_000): Promise<MemorySnapshot> {
  const file = memFile(pid)
  rmSync(file, { force: true })
  process.kill(pid, 'SIGUSR2')
  const deadline = Date.now() + timeoutMs
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no memory report from ${pid} (started without --expose-gc?)`)
    await sleep(50)
  }
  await sleep(20) // written in one call, but give a slow disk a moment
  const snap = JSON.parse(readFileSync(file, 'utf8')) as MemorySnapshot
  rmSync(file, { force: true })
  return snap
}

/**
 * A heap snapshot of a target (after the same two GCs), written into `dir`, which must be the
 * target's BENCH_HEAP_SNAPSHOT_DIR; returns its path.
 */
export async function takeHeapSnapshot(pid: number, dir: string): Promise<string> {
  writeFileSync(join(dir, 'take'), '')
  try {
    const s = await memorySnapshot(pid, 600_000)
    if (!s.snapshot) throw new Error(`target ${pid} wrote no heap snapshot (BENCH_HEAP_SNAPSHOT_DIR not set for it?)`)
    return s.snapshot
  } finally {
    rmSync(join(dir, 'take'), { force: true })
  }
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m ? Number(m[1]) * 1024 : 0
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Resolves once a TCP port accepts connections; rejects after `timeoutMs` or if `proc` exits. */
export async function waitPort(port: number, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}) before listening on ${port}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error(`port ${port} not listening after ${timeoutMs} ms`)
}

/**
 * Exits this process when the harness that started it is gone (set up in every child), and
 * runs a full GC on SIGUSR2 when started with --expose-gc, so RSS readings are not skewed by
 * garbage left from start-up or from the previous phase, and then reports the heap (see
 * memorySnapshot).
 */
export function watchParent(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    process.on('SIGUSR2', () => {
      // Twice: the first collection can leave objects that only finalizers of it release.
      gc()
      gc()
      const m = process.memoryUsage()
      // A heap snapshot only when asked for: writing one allocates ~100 MB natively (seen in RSS after it).
      const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR
      const snapshot = dir && existsSync(join(dir, 'take')) ? writeHeapSnapshot(join(dir, `${process.pid}-${Date.now()}.heapsnapshot`)) : null
      writeFileSync(memFile(process.pid), JSON.stringify({ heapUsed: m.heapUsed, external: m.external, rss: m.rss, snapshot }))
    })
  }
  const ppid = Number(process.env.BENCH_PARENT_PID)
  if (!ppid) return
  setInterval(() => {
    try {
      process.kill(ppid, 0)
    } catch {
      process.exit(0)
    }
  }, 1000).unref()
  process.on('disconnect', () => process.exit(0))
}

let nextPort = 10000 + Math.floor(Math.random() * 20000)
/**
 * A port for the next target, below the ephemeral range (32768+) so no client socket of the
 * harness can hold it, distinct per start, and checked free by binding it once.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = nextPort++
    if (nextPort >= 32000) nextPort = 10000
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer()
      srv.once('error', () => resolve(false))
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
    if (ok) return port
  }
  throw new Error('no free port found')
}
