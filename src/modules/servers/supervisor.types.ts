/** Types (and the one error) of the process supervisor (supervisor.ts, instance.ts): server definitions, states, stats, options. */
import type { FastifyBaseLogger } from 'fastify'
import type { ConsoleStats } from './console.messages.js'
import type { Isolation } from './isolation.js'

export type ServerState = 'offline' | 'starting' | 'running' | 'stopping'
export type PowerAction = 'start' | 'stop' | 'restart' | 'kill'
export const POWER_ACTIONS: readonly PowerAction[] = ['start', 'stop', 'restart', 'kill']

/** Wings' text, word for word (REST turns it into 409, the socket into `daemon error`). */
export class PowerLockedError extends Error {
  constructor() {
    super('another power action is currently being processed for this server, please try again later')
  }
}

export interface ServerSpec {
  uuid: string
  command: string
  args: string[]
  cwd: string
  env: Record<string, string>
  stopType: 'command' | 'signal'
  stopValue: string
  donePattern: string | null
  memoryLimitMb: number
  /** Percent of one core (0: none). */
  cpuLimit: number
  /** MiB of the server's folder (0: none); checked, not enforced by the file system. */
  diskLimitMb: number
}

/** Wings' stats payload (`stats` event args[0], JSON-encoded); its schema is ConsoleStats. */
export type StatsSnapshot = ConsoleStats

export interface InstanceSink {
  state(uuid: string, state: ServerState): void
  /** A console line; `seq` is its number in the durable log (none for ephemeral notices). */
  line(uuid: string, line: string, seq?: number): void
  stats(uuid: string, stats: StatsSnapshot): void
  /** The power state the operator asked for changed (persisted: restored after a restart). */
  desired(uuid: string, desired: 'running' | 'offline'): void
}

export interface SupervisorOptions {
  stopTimeoutMs: number
  statsIntervalMs: number
  /** Disk usage is walked this often while running (and once when a server goes offline). */
  diskIntervalMs: number
  bufferLines: number
  throttleLines: number
  throttlePeriodMs: number
  log: FastifyBaseLogger
  sink: InstanceSink
  /** Holders' run folders and console logs live under it; hidden from sandboxed games. */
  dataDir: string
  logMaxBytes: number
  logFiles: number
  /** Stop every game when wirehub stops (otherwise they keep running and are re-attached). */
  stopOnShutdown: boolean
  /** Who starts holders, the sandbox and the cgroup limits (detected again while blocked). */
  isolation: Pick<Isolation, 'current' | 'ensure' | 'spawner'>
  /** Most processes (and threads) per server where cgroups allow (Wings: 512). */
  pidsLimit: number
  /** Folders a sandboxed game must not see besides the data folder (other servers' folders). */
  hiddenDirs(uuid: string): string[]
  /** Files a sandboxed game must not read (wirehub's `.env`, its config file). */
  hiddenFiles: string[]
}

