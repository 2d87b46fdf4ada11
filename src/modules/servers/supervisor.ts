/**
 * The process supervisor: every game server of this node, by uuid, each an `Instance`
 * (instance.ts, the state machine around its holder). Servers are registered from the database
 * at start-up, re-attached to if their game still runs, and let go of (or stopped, with
 * SERVERS_STOP_ON_SHUTDOWN) when wirehub stops.
 */
import { Instance } from './instance.js'
import type { ServerSpec, SupervisorOptions } from './supervisor.types.js'

export type { InstanceSink, PowerAction, ServerSpec, ServerState, StatsSnapshot, SupervisorOptions } from './supervisor.types.js'
export { POWER_ACTIONS, PowerLockedError } from './supervisor.types.js'
export { Instance } from './instance.js'
export { WIREHUB_DIR } from './launch.js'

const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGKILL', 'SIGUSR1', 'SIGUSR2'])
export const isStopSignal = (s: string) => STOP_SIGNALS.has(s)

/** Every instance of this node, by server uuid. */
export class Supervisor {
  private readonly instances = new Map<string, Instance>()

  constructor(readonly opts: SupervisorOptions) {}

  /** Adds a server, or updates the definition of a known one (applied at its next start). */
  register(spec: ServerSpec): Instance {
    const existing = this.instances.get(spec.uuid)
    if (existing) {
      existing.update(spec)
      return existing
    }
    const inst = new Instance(spec, this.opts)
    this.instances.set(spec.uuid, inst)
    return inst
  }

  get(uuid: string): Instance | undefined {
    return this.instances.get(uuid)
  }

  /** Waits until every instance has loaded its log and re-attached to its game, if it runs. */
  async ready(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.ready.catch(() => {})))
  }

  /** Kills the process (if any) and forgets the server. */
  async remove(uuid: string): Promise<void> {
    const inst = this.instances.get(uuid)
    if (!inst) return
    this.instances.delete(uuid)
    await inst.power('kill').catch(() => {})
    await inst.shutdown().catch(() => {})
  }

  /** wirehub is stopping: stop every game (SERVERS_STOP_ON_SHUTDOWN) or leave them running. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.shutdown().catch(() => {})))
  }
}
