/**
 * Hard resource limits for game servers through Linux cgroups, one group per server that the
 * holder joins before it starts the game (so every process of the game inherits it):
 * - v1 (per-controller hierarchies): `memory.limit_in_bytes`, `cpu.cfs_quota_us` over a
 *   100 ms `cpu.cfs_period_us`, `pids.max`, each under wirehub's own group of that controller;
 * - v2 (unified): `memory.max`, `cpu.max`, `pids.max` under SERVERS_CGROUP, or under wirehub's
 *   own group when its `cgroup.subtree_control` can enable those controllers.
 * Where neither is writable (no root, no delegation) `detectCgroups` says why and the supervisor
 * falls back to its polling memory kill; CPU and process-count limits are then not enforced.
 */
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const ROOT = '/sys/fs/cgroup'
const CONTROLLERS = ['memory', 'cpu', 'pids'] as const
type Controller = (typeof CONTROLLERS)[number]
const CPU_PERIOD_US = 100_000

export interface CgroupSupport {
  version: 1 | 2 | null
  /** Why hard limits are not available (version null). */
  reason: string | null
  /** Parent folder of the server groups, per controller (v2: the same folder for all). */
  parents: Partial<Record<Controller, string>>
}

export interface Limits {
  memoryMb: number
  /** Percent of one core (100 = one core); 0: none. */
  cpuPercent: number
  pids: number
}

async function ownPaths(pid: number | 'self'): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')
  for (const line of text.split('\n')) {
    const [, ctrls, path] = line.split(':')
    if (ctrls === undefined || path === undefined) continue
    for (const c of ctrls === '' ? [''] : ctrls.split(',')) out.set(c, path)
  }
  return out
}

async function writable(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true })
    return true
  } catch {
    return false
  }
}

/**
 * Where server groups can be made: under the groups of `parentPid`, the process holders are
 * children of (wirehub itself, or the launcher: a group under wirehub's would make a stop of
 * wirehub's service or container end the games with it).
 */
export async function detectCgroups(v2Override?: string, parentPid: number | 'self' = 'self'): Promise<CgroupSupport> {
  const own = await ownPaths(parentPid)
  const unified = await readFile(join(ROOT, 'cgroup.controllers'), 'utf8').catch(() => null)
  if (unified !== null || v2Override) {
    const parent = v2Override ?? join(ROOT, own.get('') ?? '/', 'wirehub-servers')
    if (!(await writable(parent))) return { version: null, reason: `cgroup v2 folder ${parent} is not writable (run as root or delegate a cgroup and set SERVERS_CGROUP)`, parents: {} }
    try {
      await writeFile(join(parent, 'cgroup.subtree_control'), '+memory +cpu +pids')
    } catch (err) {
      return { version: null, reason: `cannot enable memory, cpu and pids controllers in ${parent}: ${(err as Error).message}`, parents: {} }
    }
    return { version: 2, reason: null, parents: { memory: parent, cpu: parent, pids: parent } }
  }
  const parents: CgroupSupport['parents'] = {}
  for (const c of CONTROLLERS) {
    const path = own.get(c)
    if (path === undefined) continue
    const dir = join(ROOT, c, path, 'wirehub-servers')
    if (await writable(dir)) parents[c] = dir
  }
  if (!parents.memory) return { version: null, reason: 'the cgroup v1 memory controller is not writable (not root)', parents: {} }
  return { version: 1, reason: null, parents }
}

/** The groups of one server. */
export class ServerCgroup {
  constructor(
    readonly support: CgroupSupport,
    private readonly name: string,
  ) {}

  private dir(c: Controller): string | null {
    const p = this.support.parents[c]
    return p ? join(p, this.name) : null
  }

  private dirs(): string[] {
    return [...new Set(CONTROLLERS.map((c) => this.dir(c)).filter((d): d is string => d !== null))]
  }

  /** Creates the groups and writes the limits; returns the `cgroup.procs` files to join. */
  async prepare(limits: Limits): Promise<string[]> {
    if (this.support.version === null) return []
    for (const d of this.dirs()) await mkdir(d, { recursive: true })
    const mem = this.dir('memory')
    const cpu = this.dir('cpu')
    const pids = this.dir('pids')
    const bytes = limits.memoryMb > 0 ? String(limits.memoryMb * 1024 * 1024) : null
    const quota = limits.cpuPercent > 0 ? Math.round((limits.cpuPercent / 100) * CPU_PERIOD_US) : null
    const set = (dir: string | null, file: string, value: string) => (dir ? writeFile(join(dir, file), value).catch(() => {}) : Promise.resolve())
    if (this.support.version === 1) {
      await set(mem, 'memory.limit_in_bytes', bytes ?? '-1')
      await set(cpu, 'cpu.cfs_period_us', String(CPU_PERIOD_US))
      await set(cpu, 'cpu.cfs_quota_us', quota === null ? '-1' : String(quota))
    } else {
      await set(mem, 'memory.max', bytes ?? 'max')
      await set(mem, 'memory.swap.max', bytes ? '0' : 'max')
      await set(cpu, 'cpu.max', `${quota ?? 'max'} ${CPU_PERIOD_US}`)
    }
    await set(pids, 'pids.max', limits.pids > 0 ? String(limits.pids) : 'max')
    return this.dirs().map((d) => join(d, 'cgroup.procs'))
  }

  /** OOM kills the kernel counted in this group (memory.oom_control / memory.events). */
  async oomKills(): Promise<number> {
    const mem = this.dir('memory')
    if (!mem) return 0
    const text = await readFile(join(mem, this.support.version === 1 ? 'memory.oom_control' : 'memory.events'), 'utf8').catch(() => '')
    const m = /^oom_kill (\d+)/m.exec(text)
    return m ? Number(m[1]) : 0
  }

  /** Removes the groups (once the game has ended; a group with processes stays). */
  async remove(): Promise<void> {
    for (const d of this.dirs()) await rmdir(d).catch(() => {})
  }
}

export const describeCgroups = (s: CgroupSupport) =>
  s.version === null ? `no hard limits (${s.reason}); memory is enforced by polling` : `cgroup v${s.version}: memory, CPU and process-count limits are enforced by the kernel`
