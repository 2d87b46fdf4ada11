/**
 * The sandbox game servers run in: bubblewrap (`bwrap`) with the whole system mounted read-only,
 * fresh /dev, /proc (own pid namespace: wirehub and its environment are invisible) and /tmp,
 * wirehub's data folder (database, socket-token secret, logs, other servers' folders) replaced
 * by an empty tmpfs, the folders of the other servers and wirehub's own `.env` hidden, and only
 * the server's own folder writable. When wirehub runs as root the game also runs as the
 * unprivileged SERVERS_USER (setpriv inside the sandbox, after bwrap has mounted as root).
 *
 * `detectSandbox` runs one real sandboxed `true` at start-up the way games are started, so
 * "available" means "works where the games run" (inside a container bwrap needs user namespaces
 * or CAP_SYS_ADMIN: see the README).
 */
import { existsSync } from 'node:fs'
import { lchown, lstat, readFile, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Holder } from './holder.js'
import type { Spawner } from './spawner.js'

export interface SandboxStatus {
  /** `bwrap` when servers are sandboxed; `none` otherwise (see `reason`). */
  kind: 'bwrap' | 'none'
  reason: string | null
  /** The uid:gid games run as (only when wirehub is root and the sandbox is used). */
  user: { uid: number; gid: number } | null
  /** SERVERS_SANDBOX=bwrap: without a working sandbox no game starts. */
  required: boolean
}

export interface SandboxPaths {
  dataDir: string
  cwd: string
  /** Other servers' folders outside the data folder (become empty). */
  hideDirs: string[]
  /** Files such as wirehub's `.env` (read as empty). */
  hideFiles: string[]
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0
/** How long the start-up check may take (bwrap starts in a few ms). */
const CHECK_TIMEOUT_MS = 10_000

/** bwrap's arguments for one server, up to (and including) the `--`. */
export function bwrapArgs(paths: SandboxPaths, status: SandboxStatus): string[] {
  const dataDir = resolve(paths.dataDir)
  const cwd = resolve(paths.cwd)
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--perms', '1777', '--tmpfs', '/tmp']
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent')
  if (!isRoot()) args.push('--unshare-user')
  args.push('--tmpfs', dataDir)
  for (const d of paths.hideDirs) {
    const p = resolve(d)
    // A parent of the server's own folder cannot be hidden without hiding the folder itself.
    if (p === cwd || cwd.startsWith(p + '/') || p.startsWith(dataDir + '/')) continue
    if (existsSync(p)) args.push('--tmpfs', p)
  }
  for (const f of paths.hideFiles) if (existsSync(f)) args.push('--ro-bind', '/dev/null', resolve(f))
  args.push('--bind', cwd, cwd, '--chdir', cwd, '--')
  if (status.user) args.push('setpriv', '--reuid', String(status.user.uid), '--regid', String(status.user.gid), '--clear-groups', '--no-new-privs', '--')
  return args
}

/**
 * Runs `argv` once under a holder started by `spawner` (where the games will run: wirehub's own
 * tree or the launcher's container) and returns its exit code and output.
 */
async function runOnce(spawner: Spawner, dataDir: string, argv: string[]): Promise<{ code: number | null; output: string[] }> {
  const runDir = join(dataDir, 'holders', `.sandbox-check-${process.pid}`)
  const logFile = join(runDir, 'check.log')
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' }
  const { holder } = await Holder.spawn({ runDir, logFile, lastSeq: 0, logBytes: 0, maxBytes: 0, keep: 1, cgroupProcs: [], argv, cwd: '/', env, spawner })
  try {
    const end = Date.now() + CHECK_TIMEOUT_MS
    let code = await holder.exitCode()
    while (code === null && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10))
      code = await holder.exitCode()
    }
    const text = await readFile(logFile, 'utf8').catch(() => '')
    return { code, output: text.split('\n').filter(Boolean).map((l) => l.split('\t').slice(2).join('\t')) }
  } finally {
    await holder.clear()
  }
}

/**
 * Whether (and how) game servers are sandboxed on this machine, checked by running a sandboxed
 * `true` once the way games are started (so in Docker it is the launcher's container that must
 * allow bwrap, not wirehub's).
 */
export async function detectSandbox(mode: 'auto' | 'bwrap' | 'off', serversUser: string, dataDir: string, spawner: Spawner): Promise<SandboxStatus> {
  const required = mode === 'bwrap'
  if (mode === 'off') return { kind: 'none', reason: 'disabled by SERVERS_SANDBOX=off', user: null, required }
  const [uid, gid] = serversUser.split(':').map(Number) as [number, number]
  const status: SandboxStatus = { kind: 'bwrap', reason: null, user: isRoot() ? { uid, gid } : null, required }
  const { code, output } = await runOnce(spawner, dataDir, ['bwrap', ...bwrapArgs({ dataDir, cwd: '/tmp', hideDirs: [], hideFiles: [] }, status), 'true'])
  if (code === 0) return status
  // setsid (in the holder) exits 127 when it finds no bwrap to run.
  if (code === 127) return { kind: 'none', reason: 'bwrap (Debian/Ubuntu package "bubblewrap") is not installed', user: null, required }
  const why = code === null ? 'no answer within 10 s' : (output[0] ?? `exit code ${code}`)
  return { kind: 'none', reason: `bwrap does not work here: ${why}`, user: null, required }
}

/**
 * Makes a server's folder writable by the user the game runs as (root only): walks it once and
 * changes the owner of entries that are not owned by that user already. lchown: a link the game
 * planted must never make wirehub hand it a file outside its folder.
 */
export async function ownFolder(dir: string, user: { uid: number; gid: number }, maxEntries = 200_000): Promise<void> {
  let seen = 0
  const stack = [dir]
  while (stack.length && seen < maxEntries) {
    const current = stack.pop()!
    const st = await lstat(current).catch(() => null)
    if (!st) continue
    if (st.uid !== user.uid || st.gid !== user.gid) await lchown(current, user.uid, user.gid).catch(() => {})
    if (!st.isDirectory()) continue
    for (const name of await readdir(current).catch(() => [] as string[])) {
      if (++seen > maxEntries) break
      stack.push(join(current, name))
    }
  }
}

/** True when `dir` exists and is a folder. */
export const isDir = (dir: string) => stat(dir).then((s) => s.isDirectory(), () => false)
