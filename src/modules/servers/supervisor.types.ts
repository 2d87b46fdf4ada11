/** Types of the process supervisor (supervisor.ts): server definitions, states, stats, options. */
import type { FastifyBaseLogger } from 'fastify'

export type ServerState = 'offline' | 'starting' | 'running' | 'stopping'
export type PowerAction = 'start' | 'stop' | 'restart' | 'kill'
export const POWER_ACTIONS: readonly PowerAction[] = ['start', 'stop', 'restart', 'kill']

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
}

/** Wings' stats payload (`stats` event args[0], JSON-encoded). */
export interface StatsSnapshot {
  memory_bytes: number
  memory_limit_bytes: number
  cpu_absolute: number
  /** rx: bytes written to the process's stdin (console input); tx: bytes it wrote to stdout/stderr. */
  network: { rx_bytes: number; tx_bytes: number }
  uptime: number
  state: ServerState
  disk_bytes: number
}

export interface InstanceSink {
  state(uuid: string, state: ServerState): void
  line(uuid: string, line: string): void
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
}

