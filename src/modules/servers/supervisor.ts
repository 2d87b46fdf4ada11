/**
 * The process supervisor: one `Instance` per game server, each a small state machine
 * `offline → starting → running → stopping → offline` around a game that runs under a holder
 * (holder.ts), not as wirehub's child, so it keeps running when wirehub stops or crashes.
 *
 * - Start: the sandbox (sandbox.ts) and the cgroup limits (cgroups.ts) are prepared, the log
 *   follower is opened at the end of the durable log (console-log.ts), then the holder starts
 *   the game. The holder writes every line to the log; the follower turns new lines into the
 *   ring buffer (`send logs`) and the sink (the console socket), through the Wings throttle.
 * - Start-up of wirehub (`ready`): a holder that is still alive is re-attached (stats, console,
 *   stdin, power, exit detection); one whose game ended meanwhile is reported with its exit
 *   code and last lines, as a crash unless wirehub had asked it to stop.
 * - One power action at a time per server, as Wings (PowerLockedError); `kill` never waits for
 *   the lock. `stop` uses the stop command or signal, then kills after `stopTimeoutMs`. An exit
 *   nobody asked for is a crash: Wings' crash notice, then offline.
 * - wirehub's own notices go into the log too, numbered like the game's lines; while a holder
 *   writes the log they wait until the game has ended (one writer at a time).
 */
import { watch, type FSWatcher } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OutputThrottle, RingBuffer, THROTTLE_NOTICE, daemonLine } from './console-buffer.js'
import { ConsoleLog, LogFollower, type LogLine } from './console-log.js'
import { ServerCgroup } from './cgroups.js'
import { Holder, type HolderRecord, type Intent } from './holder.js'
import { TreeSampler, directorySize, signalTarget } from './process-stats.js'
import { bwrapArgs, ownFolder } from './sandbox.js'
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
/**
 * The folder of wirehub's code (src/ when run from the sources, dist/ when built): `$WIREHUB_DIR/`
 * at the start of a command or argument stands for it, so a stored path survives a move or an
 * upgrade of the installation.
 */
export const WIREHUB_DIR = resolve(fileURLToPath(new URL('../..', import.meta.url)))
/** Lines of a game that ended while wirehub was down that go into the start-up log. */
const REPORT_LINES = 10

const expand = (s: string) => (s.startsWith('$WIREHUB_DIR/') ? join(WIREHUB_DIR, s.slice('$WIREHUB_DIR/'.length)) : s)

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    /* already gone */
  }
}

export class Instance {
  state: ServerState = 'offline'
  /** The game ended (not on request) while wirehub was down: reported, and not restarted. */
  crashedWhileDown = false
  /** The tail of the durable log (what `send logs` and a short resume read). */
  readonly buffer: RingBuffer<LogLine>
  /** Resolves once the log tail is loaded and a surviving holder is re-attached. */
  readonly ready: Promise<void>
  readonly log: ConsoleLog
  private readonly runDir: string
  private holder: Holder | null = null
  private record: HolderRecord | null = null
  private follower: LogFollower | null = null
  private readonly cgroup: ServerCgroup
  private sampler: TreeSampler | null = null
  private gamePid: number | null = null
  private lastSeq = 0
  private locked = false
  private readonly throttle: OutputThrottle
  private donePattern: RegExp | null = null
  /** Why the running game is expected to exit; null means an exit now is a crash. */
  private intent: Intent | null = null
  private exited: Promise<void> = Promise.resolve()
  private onExited: (() => void) | null = null
  private finishing = false
  private pending: string[] = []
  private writes: Promise<unknown> = Promise.resolve()
  private rx = 0
  private tx = 0
  private memory = 0
  private cpu = 0
  private disk = 0
  private statsTimer: NodeJS.Timeout | null = null
  private diskTimer: NodeJS.Timeout | null = null
  private sampling = false
  private runWatch: FSWatcher | null = null
  private readonly logger: FastifyBaseLogger

  constructor(
    public spec: ServerSpec,
    private readonly opts: SupervisorOptions,
  ) {
    this.buffer = new RingBuffer(opts.bufferLines)
    this.throttle = new OutputThrottle(opts.throttleLines, opts.throttlePeriodMs)
    this.logger = opts.log.child({ serverId: spec.uuid })
    this.log = new ConsoleLog(join(opts.dataDir, 'logs', spec.uuid, 'console.log'), opts.logFiles)
    this.runDir = join(opts.dataDir, 'holders', spec.uuid)
    this.cgroup = new ServerCgroup(opts.cgroups, spec.uuid)
    this.compilePattern()
    this.ready = this.init()
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
      await this.ready
      if (action === 'stop' || action === 'restart') await this.stop('stop')
      if (action === 'start' || action === 'restart') await this.start()
    }
    return run().finally(() => {
      this.locked = false
    })
  }

  /** Writes a console command to the game's stdin; false when there is no game to receive it. */
  command(text: string): boolean {
    const holder = this.holder
    if (!holder || this.state === 'offline' || this.finishing) return false
    // Wings: typing the stop command marks the server as stopping (so its exit is not a crash).
    if (this.spec.stopType === 'command' && text.trim() === this.spec.stopValue && this.state !== 'stopping') {
      this.setIntent('stop')
      this.setState('stopping')
    }
    const data = text + '\n'
    if (!holder.write(data)) return false
    this.rx += Buffer.byteLength(data)
    return true
  }

  snapshot(): StatsSnapshot {
    const alive = this.holder !== null
    return {
      memory_bytes: alive ? this.memory : 0,
      memory_limit_bytes: this.spec.memoryLimitMb * 1024 * 1024,
      cpu_absolute: alive ? this.cpu : 0,
      network: { rx_bytes: alive ? this.rx : 0, tx_bytes: alive ? this.tx : 0 },
      uptime: alive && this.record ? Date.now() - this.record.startedAt : 0,
      state: this.state,
      disk_bytes: this.disk,
    }
  }

  /** The last `n` logged lines. */
  history(n: number): LogLine[] {
    return this.buffer.last(n)
  }

  /** Logged lines after `seq` (at most `limit`): from memory when it reaches back that far. */
  async since(seq: number, limit: number): Promise<LogLine[]> {
    const mem = this.buffer.last(this.buffer.size)
    if (mem.length > 0 && mem[0]!.seq <= seq + 1) return mem.filter((l) => l.seq > seq).slice(0, limit)
    return this.log.range(seq, limit)
  }

  /** wirehub stops: stop the game (SERVERS_STOP_ON_SHUTDOWN) or let go of it, leaving it running. */
  async shutdown(): Promise<void> {
    this.locked = true
    await this.ready
    if (this.opts.stopOnShutdown) await this.stop('shutdown')
    this.stopTimers()
    this.holder?.closeStdin()
    await this.follower?.close()
    await this.writes
  }

  private async init(): Promise<void> {
    const tail = await this.log.tail(this.opts.bufferLines)
    for (const l of tail) this.buffer.push(l)
    this.lastSeq = tail.at(-1)?.seq ?? 0
    void this.measureDisk()
    const holder = new Holder(this.runDir)
    const record = await holder.record()
    if (!record) return
    if (await Holder.alive(record)) {
      this.logger.info({ pid: record.pid }, 'game server still running: re-attached')
      this.intent = await holder.intent()
      await this.attach(holder, record, this.intent === 'stop' || this.intent === 'shutdown' ? 'stopping' : 'running')
      return
    }
    // The game ended while wirehub was down: report it like an exit seen live.
    this.holder = holder
    this.record = record
    this.intent = await holder.intent()
    const code = await holder.exitCode()
    this.crashedWhileDown = this.intent === null || this.intent === 'oom'
    this.logger.warn({ code, lastLines: tail.slice(-REPORT_LINES).map((l) => l.text) }, 'game server ended while wirehub was not running')
    this.state = 'running'
    await this.finish(code)
  }

  private async start(): Promise<void> {
    if (this.state !== 'offline') return
    this.setState('starting')
    const spec = this.spec
    try {
      await mkdir(spec.cwd, { recursive: true })
      if (spec.diskLimitMb > 0 && (await directorySize(spec.cwd)) > spec.diskLimitMb * 1048576) {
        await this.say(`Server is exceeding the assigned disk space limit (${spec.diskLimitMb} MiB): it cannot start until files are removed.`)
        this.opts.sink.desired(spec.uuid, 'offline')
        this.setState('offline')
        return
      }
      const sandbox = this.opts.sandbox
      if (sandbox.kind === 'none' && sandbox.required) {
        await this.say(`This node requires a sandbox (SERVERS_SANDBOX=bwrap), which is not available: ${sandbox.reason}.`)
        this.opts.sink.desired(spec.uuid, 'offline')
        this.setState('offline')
        return
      }
      if (sandbox.user) await ownFolder(spec.cwd, sandbox.user)
      const argv = [expand(spec.command), ...spec.args.map(expand)]
      const wrapped = sandbox.kind === 'bwrap'
        ? ['bwrap', ...bwrapArgs({ dataDir: this.opts.dataDir, cwd: spec.cwd, hideDirs: this.opts.hiddenDirs(spec.uuid), hideFiles: this.opts.hiddenFiles }, sandbox), ...argv]
        : argv
      const cgroupProcs = await this.cgroup.prepare({ memoryMb: spec.memoryLimitMb, cpuPercent: spec.cpuLimit, pids: this.opts.pidsLimit })
      await this.writes
      const follower = new LogFollower(this.log.file, (lines) => this.onLines(lines))
      await follower.start()
      this.follower = follower
      const { holder, record } = await Holder.spawn({
        runDir: this.runDir,
        logFile: this.log.file,
        lastSeq: this.lastSeq,
        logBytes: await this.log.size(),
        maxBytes: this.opts.logMaxBytes,
        keep: this.opts.logFiles,
        cgroupProcs,
        argv: wrapped,
        cwd: spec.cwd,
        env: this.environment(),
      })
      this.rx = this.tx = this.memory = this.cpu = 0
      this.throttle.reset()
      this.intent = null
      await this.attach(holder, record, this.donePattern ? 'starting' : 'running')
    } catch (err) {
      await this.follower?.close()
      this.follower = null
      this.logger.warn({ err }, 'server process failed to start')
      await this.say(`Failed to start the server process: ${(err as Error).message}`)
      this.opts.sink.desired(spec.uuid, 'offline')
      this.setState('offline')
    }
  }

  private async attach(holder: Holder, record: HolderRecord, state: ServerState): Promise<void> {
    this.holder = holder
    this.record = record
    this.finishing = false
    if (!this.follower) {
      // Lines written between the last one in memory and the follower's start (wirehub was down)
      // go first: what the follower reads meanwhile waits, or its newer lines would hide them.
      let held: LogLine[] | null = []
      this.follower = new LogFollower(this.log.file, (lines) => (held ? held.push(...lines) : this.onLines(lines)))
      await this.follower.start()
      const missed = await this.log.range(this.lastSeq, Number.MAX_SAFE_INTEGER)
      this.onLines(missed)
      const later: LogLine[] = held
      held = null
      this.onLines(later)
    }
    this.exited = new Promise<void>((r) => (this.onExited = r))
    try {
      // The holder writes `exit` once the game's last line is in the log: react at once.
      this.runWatch = watch(holder.runDir, (_e, name) => {
        if (name === 'exit') void this.tick()
      })
      this.runWatch.on('error', () => {})
    } catch {
      /* the stats timer checks too */
    }
    this.setState(state)
    this.statsTimer = setInterval(() => void this.tick(), this.opts.statsIntervalMs)
    this.diskTimer = setInterval(() => void this.measureDisk(), this.opts.diskIntervalMs)
    this.statsTimer.unref()
    this.diskTimer.unref()
    void this.tick()
  }

  private onLines(lines: LogLine[]): void {
    const now = Date.now()
    for (const l of lines) {
      if (l.seq <= this.lastSeq) continue
      this.lastSeq = l.seq
      this.buffer.push(l)
      this.tx += Buffer.byteLength(l.text) + 1
      // Matched before the throttle, so a flood cannot hide the "Done" line from the state machine.
      const done = this.state === 'starting' && this.donePattern !== null && this.donePattern.test(l.text)
      const verdict = this.throttle.check(now)
      if (verdict === 'strike') this.opts.sink.line(this.spec.uuid, daemonLine(THROTTLE_NOTICE))
      else if (verdict === 'pass') this.opts.sink.line(this.spec.uuid, l.text, l.seq)
      if (done) this.setState('running')
    }
  }

  /** Stats, limits and the liveness check of the holder (its exit file is the usual signal). */
  private async tick(): Promise<void> {
    if (this.sampling || !this.holder || this.finishing) return
    this.sampling = true
    try {
      void this.follower?.poke()
      const holder = this.holder
      const code = await holder.exitCode()
      if (code !== null || !(await Holder.alive(this.record!))) return void (await this.finish(code))
      if (!this.sampler) {
        this.gamePid = await holder.gamePid()
        if (this.gamePid) this.sampler = new TreeSampler(this.gamePid)
      }
      if (!this.sampler) return
      const s = await this.sampler.sample()
      if (!this.holder) return
      this.memory = s.memoryBytes
      this.cpu = s.cpuPercent
      const limit = this.spec.memoryLimitMb * 1024 * 1024
      // With a cgroup the kernel enforces the limit; this polling kill is the fallback.
      if (this.opts.cgroups.version === null && limit > 0 && s.memoryBytes > limit && this.intent !== 'oom') {
        this.pending.push(`Server is exceeding the assigned memory limit (${Math.round(s.memoryBytes / 1048576)} MiB > ${this.spec.memoryLimitMb} MiB), killing the process now.`)
        void this.kill('oom')
      }
      if (this.spec.diskLimitMb > 0 && this.disk > this.spec.diskLimitMb * 1048576 && this.intent === null) {
        this.pending.push(`Server is exceeding the assigned disk space limit (${this.spec.diskLimitMb} MiB), stopping the process now.`)
        void this.stop('stop')
      }
      this.opts.sink.stats(this.spec.uuid, this.snapshot())
    } catch (err) {
      this.logger.debug({ err }, 'stats sample failed')
    } finally {
      this.sampling = false
    }
  }

  /** The game ended: read its last lines, report how, and go offline. */
  private async finish(code: number | null): Promise<void> {
    if (this.finishing) return
    this.finishing = true
    this.stopTimers()
    await this.follower?.poke()
    await this.follower?.close()
    this.follower = null
    const oomKilled = (await this.cgroup.oomKills()) > 0
    await this.cgroup.remove()
    const intent = oomKilled ? 'oom' : this.intent
    const holder = this.holder!
    this.holder = null
    this.record = null
    this.sampler = null
    this.gamePid = null
    this.intent = null
    await holder.clear()
    const notices = this.pending
    this.pending = []
    if (oomKilled) notices.push(`Server is exceeding the assigned memory limit (${this.spec.memoryLimitMb} MiB): the kernel killed the process.`)
    if (intent === null || intent === 'oom') {
      // Wings' crash-detection output.
      notices.push('---------- Detected server process in a crashed state! ----------', `Exit code: ${code ?? 'unknown'}`, `Out of memory: ${intent === 'oom'}`)
      this.opts.sink.desired(this.spec.uuid, 'offline')
      this.logger.info({ code, oom: intent === 'oom' }, 'server process crashed')
    }
    await this.say(...notices)
    this.setState('offline')
    this.memory = this.cpu = 0
    this.finishing = false
    this.onExited?.()
    void this.measureDisk().then(() => this.opts.sink.stats(this.spec.uuid, this.snapshot()))
  }

  private async stop(intent: 'stop' | 'shutdown'): Promise<void> {
    if (!this.holder || this.state === 'offline') return
    this.setIntent(intent)
    this.setState('stopping')
    if (this.spec.stopType === 'signal') {
      const pid = this.gamePid ?? (await this.holder.waitGamePid())
      if (pid) signal(await signalTarget(pid), this.spec.stopValue as NodeJS.Signals)
    } else {
      this.rx += Buffer.byteLength(this.spec.stopValue) + 1
      this.holder.write(this.spec.stopValue + '\n')
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
    if (timedOut && this.holder) {
      this.pending.push(`Server did not stop within ${Math.round(this.opts.stopTimeoutMs / 1000)} seconds; killing the process.`)
      await this.kill(intent)
    }
  }

  private async kill(intent: Intent): Promise<void> {
    const holder = this.holder
    if (!holder) return
    this.setIntent(intent)
    const pid = this.gamePid ?? (await holder.waitGamePid())
    // The game runs in its own session (setsid): its group is the game and all it started.
    if (pid) signal(-pid, 'SIGKILL')
    await this.exited
  }

  private setIntent(intent: Intent): void {
    this.intent = intent
    void this.holder?.setIntent(intent)
  }

  /** Appends wirehub's own lines to the log (after the game's) and publishes them. */
  private say(...texts: string[]): Promise<void> {
    if (texts.length === 0) return this.writes.then(() => {})
    const lines = texts.map((t) => daemonLine(t))
    const write = this.writes.then(async () => {
      const logged = await this.log.append(lines, this.lastSeq).catch((err: unknown) => {
        this.logger.warn({ err }, 'console log write failed')
        return lines.map((text) => ({ seq: 0, ts: Date.now(), text }))
      })
      for (const l of logged) {
        if (l.seq > 0) {
          this.lastSeq = l.seq
          this.buffer.push(l)
        }
        this.opts.sink.line(this.spec.uuid, l.text, l.seq > 0 ? l.seq : undefined)
      }
    })
    this.writes = write
    return write
  }

  /** A line from wirehub itself, in Wings' `[<App> Daemon]:` style; never throttled. */
  notice(text: string): void {
    if (this.holder) this.pending.push(text)
    else void this.say(text)
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
    this.runWatch?.close()
    this.runWatch = null
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
