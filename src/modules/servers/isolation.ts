/**
 * How game servers are started and isolated on this node: who starts the holders (wirehub or the
 * launcher, spawner.ts), whether the bubblewrap sandbox works where they run (sandbox.ts), and
 * which cgroup limits hold (cgroups.ts). Detected at start-up, logged, and reported on `/ready`.
 *
 * With a launcher the checks go through it, because the games run in its process tree (its
 * container): a launcher that does not answer blocks game starts (never "no sandbox, start
 * anyway") and detection runs again at the next start; a launcher running as another user than
 * wirehub is refused, since wirehub could not signal or watch the games it starts.
 */
import { describeCgroups, detectCgroups, type CgroupSupport } from './cgroups.js'
import { detectSandbox, type SandboxStatus } from './sandbox.js'
import type { Spawner } from './spawner.js'
import type { FastifyBaseLogger } from 'fastify'

export interface IsolationState {
  sandbox: SandboxStatus
  cgroups: CgroupSupport
  /** Why no game can start right now; null when they can. */
  blocked: string | null
}

export interface IsolationOptions {
  mode: 'auto' | 'bwrap' | 'off'
  serversUser: string
  dataDir: string
  cgroupOverride: string | undefined
  spawner: Spawner
  log: FastifyBaseLogger
}

const NO_CGROUPS: CgroupSupport = { version: null, reason: 'not detected yet', parents: {} }

export class Isolation {
  current: IsolationState
  private detecting: Promise<IsolationState> | null = null

  constructor(private readonly o: IsolationOptions) {
    this.current = { sandbox: { kind: 'none', reason: 'not detected yet', user: null, required: o.mode === 'bwrap' }, cgroups: NO_CGROUPS, blocked: 'not detected yet' }
  }

  get spawner(): Spawner {
    return this.o.spawner
  }

  /** The current state, detected again first when the last detection could not reach the launcher. */
  ensure(): Promise<IsolationState> {
    if (this.current.blocked === null) return Promise.resolve(this.current)
    this.detecting ??= this.detect().finally(() => (this.detecting = null))
    return this.detecting
  }

  /** For `/ready` (with a launcher): `ok`, or why games cannot start. */
  async launcherCheck(): Promise<string> {
    try {
      await this.o.spawner.parent()
      return this.current.blocked ?? 'ok'
    } catch (err) {
      return `unavailable: ${(err as Error).message}`
    }
  }

  private async detect(): Promise<IsolationState> {
    const { o } = this
    const log = o.log
    let state: IsolationState
    try {
      const parent = await o.spawner.parent()
      const uid = process.getuid?.() ?? -1
      if (parent.uid !== uid) throw new Error(`the launcher runs as uid ${parent.uid} and wirehub as uid ${uid}: run both as the same user`)
      const [sandbox, cgroups] = await Promise.all([
        detectSandbox(o.mode, o.serversUser, o.dataDir, o.spawner),
        detectCgroups(o.cgroupOverride, o.spawner.where === 'local' ? 'self' : parent.pid),
      ])
      state = { sandbox, cgroups, blocked: null }
    } catch (err) {
      const reason = (err as Error).message
      log.error({ launcher: o.spawner.where, reason }, 'game servers cannot start: their launcher is not usable')
      state = { sandbox: { kind: 'none', reason: 'launcher unavailable', user: null, required: o.mode === 'bwrap' }, cgroups: NO_CGROUPS, blocked: reason }
      this.current = state
      return state
    }
    const { sandbox, cgroups } = state
    if (o.spawner.where !== 'local') log.info({ launcher: o.spawner.where }, 'game servers are started by the launcher')
    if (sandbox.kind === 'bwrap') log.info({ user: sandbox.user }, 'game servers run sandboxed (bubblewrap)')
    else if (sandbox.required) log.error({ reason: sandbox.reason }, 'SERVERS_SANDBOX=bwrap but bubblewrap does not work: game servers will not start')
    else log.warn({ reason: sandbox.reason }, 'game servers run WITHOUT a sandbox: they can read what wirehub can read')
    log.info({ cgroups: cgroups.version }, describeCgroups(cgroups))
    this.current = state
    return state
  }
}
