/**
 * Resource usage of a supervised process TREE without containers, read from Linux /proc:
 * - memory: the sum of RSS over the root process and all its descendants (a game server that
 *   forks workers is measured whole, which is what the memory limit applies to);
 * - cpu: the sum of utime+stime ticks over the tree, turned into "percent of one core" between
 *   two samples (Wings' `cpu_absolute`);
 * - disk: bytes of the working directory, walked asynchronously and rarely (it can be large),
 *   never on the stats hot path.
 * On systems without /proc the figures are 0. Exited descendants drop out of the CPU sum, so the
 * cpu figure is clamped at 0 rather than going negative.
 */
import { execFileSync } from 'node:child_process'
import { readdir, readFile, lstat } from 'node:fs/promises'
import { join } from 'node:path'

/** sysconf(_SC_CLK_TCK) / sysconf(_SC_PAGESIZE), read once; arm64 kernels often use 64 KiB pages. */
function sysconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return Number.isInteger(v) && v > 0 ? v : fallback
  } catch {
    return fallback
  }
}
export const CLK_TCK = sysconf('CLK_TCK', 100)
export const PAGE_SIZE = sysconf('PAGESIZE', 4096)

interface ProcEntry {
  pid: number
  ppid: number
  ticks: number
  rssPages: number
}

/** Parses /proc/<pid>/stat; the command name may contain spaces and parentheses. */
export function parseStat(text: string): ProcEntry | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const pid = Number.parseInt(text, 10)
  const f = text.slice(close + 2).split(' ')
  // After "(comm) ": state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
  const ppid = Number(f[1])
  const ticks = Number(f[11]) + Number(f[12])
  const rssPages = Number(f[21])
  if (!Number.isFinite(pid) || !Number.isFinite(ppid) || !Number.isFinite(ticks) || !Number.isFinite(rssPages)) return null
  return { pid, ppid, ticks, rssPages }
}

/** Reads at most this many /proc files at once: a burst of one open file per process on the
 * machine, per server, ran into the file-descriptor limit with 100 servers on a busy host. */
const READ_CONCURRENCY = 32

async function statOf(pid: number | string): Promise<ProcEntry | null> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return null // the process exited meanwhile
  }
}

async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker))
  return out
}

async function readAllStats(): Promise<ProcEntry[]> {
  let names: string[]
  try {
    names = await readdir('/proc')
  } catch {
    return []
  }
  const pids = names.filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
  return (await mapLimited(pids, statOf)).filter((e): e is ProcEntry => e !== null)
}

/** Whether the kernel lists children per task (CONFIG_PROC_CHILDREN, on in common kernels). */
let childrenFiles: boolean | null = null
async function hasChildrenFiles(): Promise<boolean> {
  childrenFiles ??= await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').then(
    () => true,
    () => false,
  )
  return childrenFiles
}

/** Children of a process (of every one of its threads: any thread may fork). */
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[])
  const lists = await mapLimited(tasks, (tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => ''))
  return lists.flatMap((l) => l.split(' ').filter(Boolean).map(Number))
}

/**
 * The root and its descendants, read by walking down from the root (a handful of files per
 * server) where the kernel lists children, otherwise from a scan of every process.
 */
async function readTree(rootPid: number): Promise<ProcEntry[]> {
  if (!(await hasChildrenFiles())) return treeOf(rootPid, await readAllStats())
  const tree: ProcEntry[] = []
  let level = [rootPid]
  while (level.length > 0 && tree.length < 10_000) {
    const entries = (await mapLimited(level, statOf)).filter((e): e is ProcEntry => e !== null)
    tree.push(...entries)
    level = (await mapLimited(entries, (e) => childrenOf(e.pid))).flat()
  }
  return tree
}

/** The root and every descendant, from a full process list. */
export function treeOf(rootPid: number, all: readonly ProcEntry[]): ProcEntry[] {
  const children = new Map<number, ProcEntry[]>()
  let root: ProcEntry | undefined
  for (const e of all) {
    if (e.pid === rootPid) root = e
    let list = children.get(e.ppid)
    if (!list) children.set(e.ppid, (list = []))
    list.push(e)
  }
  if (!root) return []
  const tree: ProcEntry[] = [root]
  for (let i = 0; i < tree.length; i++) for (const c of children.get(tree[i]!.pid) ?? []) tree.push(c)
  return tree
}

export interface TreeSample {
  memoryBytes: number
  /** Percent of one core since the previous sample (0 on the first). */
  cpuPercent: number
  processes: number
}

/** Samples one process tree; keep one per running process (it remembers the previous ticks). */
export class TreeSampler {
  private lastTicks = -1
  private lastAt = 0

  constructor(private readonly rootPid: number) {}

  async sample(now = Date.now()): Promise<TreeSample> {
    const tree = await readTree(this.rootPid)
    let rss = 0
    let ticks = 0
    for (const e of tree) {
      rss += e.rssPages
      ticks += e.ticks
    }
    let cpu = 0
    if (this.lastTicks >= 0 && now > this.lastAt) {
      cpu = Math.max(0, ((ticks - this.lastTicks) / CLK_TCK / ((now - this.lastAt) / 1000)) * 100)
    }
    this.lastTicks = ticks
    this.lastAt = now
    return { memoryBytes: rss * PAGE_SIZE, cpuPercent: Math.round(cpu * 1000) / 1000, processes: tree.length }
  }
}

/**
 * Total size of regular files under `dir` (symlinks not followed), walking at most `maxEntries`
 * entries so a huge folder costs a bounded amount of work per pass.
 */
export async function directorySize(dir: string, maxEntries = 200_000): Promise<number> {
  let total = 0
  let seen = 0
  const stack = [dir]
  while (stack.length > 0 && seen < maxEntries) {
    const current = stack.pop()!
    let entries
    try {
      entries = await readdir(current, { withFileTypes: true })
    } catch {
      continue
    }
    for (const e of entries) {
      if (++seen > maxEntries) break
      const p = join(current, e.name)
      if (e.isDirectory()) stack.push(p)
      else if (e.isFile()) {
        try {
          total += (await lstat(p)).size
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
  return total
}

/**
 * The process a stop signal is meant for: the game itself, not the sandbox around it. bwrap
 * does not forward signals, so walk down from the holder's child past `bwrap` processes.
 */
export async function signalTarget(pid: number): Promise<number> {
  let current = pid
  for (let depth = 0; depth < 4; depth++) {
    const comm = (await readFile(`/proc/${current}/comm`, 'utf8').catch(() => '')).trim()
    if (comm !== 'bwrap') return current
    const children = (await readFile(`/proc/${current}/task/${current}/children`, 'utf8').catch(() => '')).trim().split(' ')
    const next = Number(children[0])
    if (!Number.isInteger(next) || next <= 0) return current
    current = next
  }
  return current
}
