/**
 * Game-server holders (holder/holder.sh): starting one, finding it again after a wirehub
 * restart, writing to the game's stdin FIFO and reading how the game ended.
 *
 * A holder's run folder holds `holder.json` (its pid and the kernel's start time of that pid, so
 * a recycled pid is never mistaken for it), `stdin` (FIFO), `game.pid`, `intent` (why wirehub
 * expects the game to end: a stop it asked for is not a crash, even across a restart) and
 * `exit` (the game's exit status, written after its last line reached the log).
 */
import { execFile } from 'node:child_process'
import { constants, openSync, closeSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile, rename } from 'node:fs/promises'
import { Socket } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Spawner } from './spawner.js'

export interface HolderRecord {
  pid: number
  /** Field 22 of /proc/<pid>/stat: with the pid, identifies the process for its whole life. */
  startTicks: number
  /** When the game was started (ms), for the uptime. */
  startedAt: number
}

export type Intent = 'stop' | 'kill' | 'oom' | 'shutdown'

/**
 * Start time of a process in clock ticks since boot, or null when it does not exist. Any other
 * failure to read (too many open files, …) throws: "cannot tell" must never pass for "ended",
 * or a running game would be reported as crashed and lose its run folder.
 */
export async function startTicksOf(pid: number): Promise<number | null> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'latin1')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return null
    throw err
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  if (f[0] === 'Z' || f[0] === 'X') return null // ended; only its parent has not reaped it yet
  // After "(comm) " the state is field 0, so starttime (field 22 of the line) is index 19.
  const v = Number(f[19])
  return Number.isFinite(v) ? v : null
}

/** Process groups led by children of the processes in group `pgid` (other than `pgid` itself). */
async function childGroupsOf(pgid: number): Promise<number[]> {
  const procs: Array<{ pid: number; ppid: number; pgrp: number }> = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readText(`/proc/${entry}/stat`)
    // Fields after the command (which may hold spaces and parentheses): state, ppid, pgrp, …
    const f = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (f) procs.push({ pid: Number(entry), ppid: Number(f[1]), pgrp: Number(f[2]) })
  }
  const members = new Set(procs.filter((p) => p.pgrp === pgid).map((p) => p.pid))
  return procs.filter((p) => members.has(p.ppid) && p.pgrp !== pgid && p.pgrp === p.pid).map((p) => p.pid)
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch {
    return null
  }
}

export interface SpawnHolderOptions {
  runDir: string
  logFile: string
  lastSeq: number
  logBytes: number
  maxBytes: number
  keep: number
  /** `cgroup.procs` files the holder joins before it starts the game. */
  cgroupProcs: string[]
  argv: string[]
  cwd: string
  env: Record<string, string>
  /** wirehub itself or the launcher (spawner.ts). */
  spawner: Spawner
}

/** One game server's holder files. */
export class Holder {
  readonly stdinPath: string
  private stdin: Socket | null = null

  constructor(readonly runDir: string) {
    this.stdinPath = join(runDir, 'stdin')
  }

  /** Clears the previous run's files and starts a holder; resolves with its record. */
  static async spawn(o: SpawnHolderOptions): Promise<{ holder: Holder; record: HolderRecord }> {
    const holder = new Holder(o.runDir)
    await rm(o.runDir, { recursive: true, force: true })
    await mkdir(o.runDir, { recursive: true, mode: 0o700 })
    await promisify(execFile)('mkfifo', ['-m', '600', holder.stdinPath])
    const args = [o.runDir, o.logFile, String(o.lastSeq), String(o.logBytes), String(o.maxBytes), String(o.keep), o.cgroupProcs.length ? o.cgroupProcs.join(':') : '-', '--', ...o.argv]
    // The holder writes the log itself: wirehub holds none of its stdio, so it can go away.
    const pid = await o.spawner.spawn({ args, cwd: o.cwd, env: o.env })
    try {
      const record: HolderRecord = { pid, startTicks: (await startTicksOf(pid).catch(() => null)) ?? -1, startedAt: Date.now() }
      await writeFile(join(o.runDir, 'holder.json.tmp'), JSON.stringify(record))
      await rename(join(o.runDir, 'holder.json.tmp'), join(o.runDir, 'holder.json'))
      return { holder, record }
    } catch (err) {
      // Without its record no wirehub would ever find this holder again (e.g. the run folder was
      // removed while the server started): a start that fails must not leave the game running.
      await holder.abandon(pid)
      throw err
    }
  }

  /**
   * Kills a holder that will not be attached, and its game. The game runs in a session of its
   * own, started by a process of the holder's group; its pid file may be gone with the run
   * folder, so the games are found in /proc (processes whose parent is in the holder's group but
   * that lead another group), and their groups are killed before the holder's.
   */
  private async abandon(pid: number): Promise<void> {
    const groups = await childGroupsOf(pid).catch(() => [])
    for (const group of [...groups, pid]) {
      try {
        process.kill(-group, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
  }

  async record(): Promise<HolderRecord | null> {
    const text = await readText(join(this.runDir, 'holder.json'))
    if (!text) return null
    try {
      const r = JSON.parse(text) as HolderRecord
      return Number.isInteger(r.pid) && r.pid > 0 ? r : null
    } catch {
      return null
    }
  }

  /** Whether the recorded holder process still lives (same pid AND same start time); throws when /proc cannot be read. */
  static async alive(record: HolderRecord): Promise<boolean> {
    const ticks = await startTicksOf(record.pid)
    return ticks !== null && (record.startTicks < 0 || ticks === record.startTicks)
  }

  /** `alive`, tried again for a moment while /proc cannot be read (that is "unknown", not "ended"). */
  static async aliveRetrying(record: HolderRecord): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Holder.alive(record)
      } catch (err) {
        if (attempt >= 20) throw err
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }

  /** The pid of the game (or of its sandbox), once the holder has started it. */
  async gamePid(): Promise<number | null> {
    const n = Number.parseInt((await readText(join(this.runDir, 'game.pid'))) ?? '', 10)
    return Number.isInteger(n) && n > 0 ? n : null
  }

  /** The game's pid, waiting briefly for a holder that is just starting to write it. */
  async waitGamePid(ms = 3000): Promise<number | null> {
    const end = Date.now() + ms
    for (;;) {
      const pid = await this.gamePid()
      if (pid || Date.now() > end) return pid
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** The game's exit status once it ended (128+n for signal n), else null. */
  async exitCode(): Promise<number | null> {
    const text = await readText(join(this.runDir, 'exit'))
    if (text === null) return null
    const n = Number.parseInt(text, 10)
    return Number.isInteger(n) ? n : -1
  }

  async intent(): Promise<Intent | null> {
    const t = (await readText(join(this.runDir, 'intent')))?.trim()
    return t === 'stop' || t === 'kill' || t === 'oom' || t === 'shutdown' ? t : null
  }

  async setIntent(intent: Intent | null): Promise<void> {
    const file = join(this.runDir, 'intent')
    if (intent === null) await rm(file, { force: true })
    else await writeFile(file, intent).catch(() => {})
  }

  /**
   * Writes to the game's stdin. The FIFO is opened non-blocking (ENXIO instead of a hang when no
   * holder reads it any more) and kept open while the game runs.
   */
  write(data: string): boolean {
    if (!this.stdin || this.stdin.destroyed) {
      let fd: number
      try {
        fd = openSync(this.stdinPath, constants.O_WRONLY | constants.O_NONBLOCK)
      } catch {
        return false
      }
      try {
        this.stdin = new Socket({ fd, readable: false, writable: true })
      } catch {
        closeSync(fd)
        return false
      }
      this.stdin.on('error', () => this.stdin?.destroy())
    }
    return this.stdin.write(data), true
  }

  closeStdin(): void {
    this.stdin?.destroy()
    this.stdin = null
  }

  async clear(): Promise<void> {
    this.closeStdin()
    await rm(this.runDir, { recursive: true, force: true })
  }
}
