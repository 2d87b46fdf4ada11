/**
 * The process supervisor: one `Instance` per game server, each a small state machine
 * `offline → starting → running → stopping → offline` around a real child process.
 *
 * - Processes are spawned without a shell, in their own process group (`detached`), so a kill
 *   reaches the whole tree, and with a minimal environment (never wirehub's own secrets).
 * - One power action at a time per server, as Wings: a second one fails with PowerLockedError
 *   while the first is running; `kill` never waits for the lock (it must be able to end a stuck
 *   `stop`). `power()` takes the lock synchronously and returns the running action's promise, so
 *   HTTP can answer 204 at once (Wings answers 202) while the action continues.
 * - `stop` uses the server's stop method (console command or signal) and kills the group after
 *   `stopTimeoutMs`. An exit that nobody asked for is a crash: Wings' crash notice, then offline.
 * - Output goes through the line splitter and the Wings throttle into the ring buffer and the
 *   sink (the console socket publishes it); stats are sampled every `statsIntervalMs` while a
 *   process lives, and a tree above its memory limit is killed with a notice.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { LineSplitter, OutputThrottle, RingBuffer, THROTTLE_NOTICE, daemonLine } from './console-buffer.js'
import { TreeSampler, directorySize } from './process-stats.js'
import type { FastifyBaseLogger } from 'fastify'
import type { PowerAction, ServerSpec, ServerState, StatsSnapshot, SupervisorOptions } from './supervisor.types.js'

export type { InstanceSink, PowerAction, ServerSpec, ServerState, StatsSnapshot, SupervisorOptions } from './supervisor.types.js'
export { POWER_ACTIONS } from './supervisor.types.js'

/** Wings' text, word for word (REST turns it into 409, the socket into `daemon error`). */
export class PowerLockedError extends Error {
  constructor() {
    super('another power action is currently being processed for this server, please try again later')
  }
}

const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGKILL', 'SIGUSR1', 'SIGUSR2'])
export const isStopSignal = (s: string) => STOP_SIGNALS.has(s)

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    /* the group is already gone */
  }
}

export class Instance {
  state: ServerState = 'offline'
  readonly buffer: RingBuffer
  private child: ChildProcess | null = null
  private locked = false
  private readonly throttle: OutputThrottle
  private donePattern: RegExp | null = null
  /** Why the running process is expected to exit; null means an exit now is a crash. */
  private intent: 'stop' | 'kill' | 'oom' | 'shutdown' | null = null
  private exited: Promise<void> = Promise.resolve()
  private startedAt = 0
  private rx = 0
  private tx = 0
  private memory = 0
  private cpu = 0
  private disk = 0
  private statsTimer: NodeJS.Timeout | null = null
  private diskTimer: NodeJS.Timeout | null = null
  private sampling = false
  private readonly log: FastifyBaseLogger

  constructor(
    public spec: ServerSpec,
    private readonly opts: SupervisorOptions,
  ) {
    this.buffer = new RingBuffer(opts.bufferLines)
    this.throttle = new OutputThrottle(opts.throttleLines, opts.throttlePeriodMs)
    this.log = opts.log.child({ serverId: spec.uuid })
    this.compilePattern()
    void this.measureDisk()
  }

  update(spec: ServerSpec): void {
    this.spec = spec
    this.compilePattern()
  }

  get busy(): boolean {
    return this.locked
  }

  /** Takes the power lock now (or throws PowerLockedError) and returns the action's completion. */
  power(action: PowerAction): Promise<void> {
    if (action === 'kill') {
      // Wings: terminate takes the lock only when it is free, and never waits for it.
      const got = !this.locked
      if (got) this.locked = true
      this.opts.sink.desired(this.spec.uuid, 'offline')
      return this.kill('kill').finally(() => {
        if (got) this.locked = false
      })
    }
    if (this.locked) throw new PowerLockedError()
    this.locked = true
    this.opts.sink.desired(this.spec.uuid, action === 'stop' ? 'offline' : 'running')
    const run = async () => {
      if (action === 'stop' || action === 'restart') await this.stop('stop')
      if (action === 'start' || action === 'restart') await this.start()
    }
    return run().finally(() => {
      this.locked = false
    })
  }

  /** Writes a console command to stdin; false when there is no process to receive it. */
  command(text: string): boolean {
    const child = this.child
    if (!child || this.state === 'offline' || !child.stdin || child.stdin.destroyed) return false
    // Wings: typing the stop command marks the server as stopping (so its exit is not a crash).
    if (this.spec.stopType === 'command' && text.trim() === this.spec.stopValue && this.state !== 'stopping') {
      this.intent = 'stop'
      this.setState('stopping')
    }
    const data = text + '\n'
    this.rx += Buffer.byteLength(data)
    child.stdin.write(data)
    return true
  }

  snapshot(): StatsSnapshot {
    const alive = this.child !== null
    return {
      memory_bytes: alive ? this.memory : 0,
      memory_limit_bytes: this.spec.memoryLimitMb * 1024 * 1024,
      cpu_absolute: alive ? this.cpu : 0,
      network: { rx_bytes: alive ? this.rx : 0, tx_bytes: alive ? this.tx : 0 },
      uptime: alive && this.startedAt ? Date.now() - this.startedAt : 0,
      state: this.state,
      disk_bytes: this.disk,
    }
  }

  /** Stops for wirehub's shutdown: same path as `stop` but the desired state is left alone. */
  async shutdown(): Promise<void> {
    this.locked = true
    await this.stop('shutdown')
    this.stopTimers()
  }

  private async start(): Promise<void> {
    if (this.state !== 'offline') return
    this.setState('starting')
    const spec = this.spec
    try {
      await mkdir(spec.cwd, { recursive: true })
      const child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: this.environment(),
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        windowsHide: true,
      })
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve)
        child.once('error', reject)
      })
      this.attach(child)
    } catch (err) {
      this.log.warn({ err }, 'server process failed to start')
      this.notice(`Failed to start the server process: ${(err as Error).message}`)
      this.opts.sink.desired(spec.uuid, 'offline')
      this.setState('offline')
      return
    }
    if (!this.donePattern) this.setState('running')
  }

  private attach(child: ChildProcess): void {
    this.child = child
    this.intent = null
    this.startedAt = Date.now()
    this.rx = this.tx = this.memory = this.cpu = 0
    this.throttle.reset()
    const out = new LineSplitter()
    const err = new LineSplitter()
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk, out))
    child.stderr!.on('data', (chunk: Buffer) => this.onData(chunk, err))
    child.stdin!.on('error', () => {}) // EPIPE after the process exited; the exit handler reports it
    this.exited = new Promise<void>((resolve) => {
      let code: number | null = null
      let signal: NodeJS.Signals | null = null
      let done = false
      const finish = () => {
        if (done) return
        done = true
        for (const line of [...out.flush(), ...err.flush()]) this.output(line)
        this.onExit(code, signal)
        resolve()
      }
      child.once('exit', (c, s) => {
        code = c
        signal = s
        // As when a container's init dies: the rest of the tree goes too, which closes the pipes.
        killGroup(child.pid!, 'SIGKILL')
        setTimeout(finish, 2000).unref()
      })
      child.once('close', finish)
    })
    const sampler = new TreeSampler(child.pid!)
    this.statsTimer = setInterval(() => void this.sample(sampler), this.opts.statsIntervalMs)
    this.diskTimer = setInterval(() => void this.measureDisk(), this.opts.diskIntervalMs)
    this.statsTimer.unref()
    this.diskTimer.unref()
    void this.sample(sampler)
  }

  private async stop(intent: 'stop' | 'shutdown'): Promise<void> {
    const child = this.child
    if (!child || this.state === 'offline') return
    this.intent = intent
    this.setState('stopping')
    if (this.spec.stopType === 'signal') {
      try {
        child.kill(this.spec.stopValue as NodeJS.Signals)
      } catch {
        /* exited meanwhile */
      }
    } else {
      this.rx += Buffer.byteLength(this.spec.stopValue) + 1
      child.stdin?.write(this.spec.stopValue + '\n')
    }
    const exited = this.exited
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), this.opts.stopTimeoutMs)
      }),
    ])
    clearTimeout(timer)
    if (timedOut && this.child === child) {
      this.notice(`Server did not stop within ${Math.round(this.opts.stopTimeoutMs / 1000)} seconds; killing the process.`)
      killGroup(child.pid!, 'SIGKILL')
      await exited
    }
  }

  private async kill(intent: 'kill' | 'oom'): Promise<void> {
    const child = this.child
    if (!child) return
    this.intent = intent
    killGroup(child.pid!, 'SIGKILL')
    await this.exited
  }

  private onData(chunk: Buffer, splitter: LineSplitter): void {
    this.tx += chunk.length
    for (const line of splitter.push(chunk)) this.output(line)
  }

  private output(line: string): void {
    // Matched before the throttle, so a flood cannot hide the "Done" line from the state machine.
    const done = this.state === 'starting' && this.donePattern !== null && this.donePattern.test(line)
    const verdict = this.throttle.check(Date.now())
    if (verdict === 'strike') this.notice(THROTTLE_NOTICE)
    else if (verdict === 'pass') {
      this.buffer.push(line)
      this.opts.sink.line(this.spec.uuid, line)
    }
    if (done) this.setState('running')
  }

  /** A line from wirehub itself, in Wings' `[<App> Daemon]:` style; never throttled. */
  notice(text: string): void {
    const line = daemonLine(text)
    this.buffer.push(line)
    this.opts.sink.line(this.spec.uuid, line)
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const intent = this.intent
    this.stopTimers()
    this.child = null
    this.intent = null
    this.startedAt = 0
    if (intent === null || intent === 'oom') {
      // Wings' crash-detection output.
      this.notice('---------- Detected server process in a crashed state! ----------')
      this.notice(`Exit code: ${code ?? (signal ? `signal ${signal}` : 'unknown')}`)
      this.notice(`Out of memory: ${intent === 'oom'}`)
      this.opts.sink.desired(this.spec.uuid, 'offline')
      this.log.info({ code, signal, oom: intent === 'oom' }, 'server process crashed')
    }
    this.setState('offline')
    this.memory = this.cpu = 0
    void this.measureDisk().then(() => this.opts.sink.stats(this.spec.uuid, this.snapshot()))
  }

  private async sample(sampler: TreeSampler): Promise<void> {
    if (this.sampling || !this.child) return
    this.sampling = true
    try {
      const s = await sampler.sample()
      if (!this.child) return
      this.memory = s.memoryBytes
      this.cpu = s.cpuPercent
      const limit = this.spec.memoryLimitMb * 1024 * 1024
      if (limit > 0 && s.memoryBytes > limit && this.intent !== 'oom') {
        this.notice(`Server is exceeding the assigned memory limit (${Math.round(s.memoryBytes / 1048576)} MiB > ${this.spec.memoryLimitMb} MiB), killing the process now.`)
        void this.kill('oom')
      }
      this.opts.sink.stats(this.spec.uuid, this.snapshot())
    } catch (err) {
      this.log.debug({ err }, 'stats sample failed')
    } finally {
      this.sampling = false
    }
  }

  private async measureDisk(): Promise<void> {
    try {
      this.disk = await directorySize(this.spec.cwd)
    } catch {
      /* keep the previous figure */
    }
  }

  private setState(state: ServerState): void {
    if (this.state === state) return
    this.state = state
    this.opts.sink.state(this.spec.uuid, state)
  }

  private stopTimers(): void {
    if (this.statsTimer) clearInterval(this.statsTimer)
    if (this.diskTimer) clearInterval(this.diskTimer)
    this.statsTimer = this.diskTimer = null
  }

  private compilePattern(): void {
    try {
      this.donePattern = this.spec.donePattern ? new RegExp(this.spec.donePattern) : null
    } catch {
      this.donePattern = null // validated on input; a bad stored pattern means "running at once"
    }
  }

  /** What the process sees: PATH and locale from wirehub, Pterodactyl's variables, then the server's own. */
  private environment(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: this.spec.cwd }
    for (const k of ['LANG', 'LC_ALL', 'TZ']) if (process.env[k]) env[k] = process.env[k]
    env.P_SERVER_UUID = this.spec.uuid
    env.SERVER_MEMORY = String(this.spec.memoryLimitMb)
    return { ...env, ...this.spec.env }
  }
}

/** Every instance of this node, by server uuid. */
export class Supervisor {
  private readonly instances = new Map<string, Instance>()

  constructor(private readonly opts: SupervisorOptions) {}

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

  /** Kills the process (if any) and forgets the server. */
  async remove(uuid: string): Promise<void> {
    const inst = this.instances.get(uuid)
    if (!inst) return
    this.instances.delete(uuid)
    await inst.power('kill').catch(() => {})
  }

  /** wirehub is stopping: every server gets its stop method, then a kill after the timeout. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.shutdown().catch(() => {})))
  }
}
