/**
 * One game server: a small state machine `offline → starting → running → stopping → offline`
 * around a game that runs under a holder (holder.ts), not as wirehub's child, so it keeps
 * running when wirehub stops or crashes.
 *
 * - Start: the sandbox and the cgroup limits of the node (isolation.ts) are applied, the console
 *   feed follows the end of the durable log (console-feed.ts), then the holder is started, by
 *   wirehub or by the launcher (spawner.ts), and runs the game (launch.ts).
 * - Start-up of wirehub (`ready`): a holder that is still alive is re-attached (stats, console,
 *   stdin, power, exit detection); one whose game ended meanwhile is reported with its exit
 *   code and last lines, as a crash unless wirehub had asked it to stop.
 * - One power action at a time per server, as Wings (PowerLockedError); `kill` never waits for
 *   the lock. `stop` uses the stop command or signal, then kills after `stopTimeoutMs`. An exit
 *   nobody asked for is a crash: Wings' crash notice, then offline.
 */
import { watch, type FSWatcher } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ConsoleFeed } from './console-feed.js'
import { ConsoleLog, type LogLine } from './console-log.js'
import { ServerCgroup } from './cgroups.js'
import { Holder, type HolderRecord, type Intent } from './holder.js'
import { gameArgv, gameEnvironment } from './launch.js'
import { directorySize, signalTarget } from './process-stats.js'
import { ownFolder } from './sandbox.js'
import { ServerStats } from './server-stats.js'
import type { FastifyBaseLogger } from 'fastify'
import { PowerLockedError, type PowerAction, type ServerSpec, type ServerState, type StatsSnapshot, type SupervisorOptions } from './supervisor.types.js'

/** Lines of a game that ended while wirehub was down that go into the start-up log. */
const REPORT_LINES = 10

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
  /** Resolves once the log tail is loaded and a surviving holder is re-attached. */
  readonly ready: Promise<void>
  readonly log: ConsoleLog
  readonly feed: ConsoleFeed
  private readonly runDir: string
  private holder: Holder | null = null
  private record: HolderRecord | null = null
  private cgroup: ServerCgroup
  private readonly stats: ServerStats
  private gamePid: number | null = null
  private locked = false
  private donePattern: RegExp | null = null
  /** Why the running game is expected to exit; null means an exit now is a crash. */
  private intent: Intent | null = null
  private exited: Promise<void> = Promise.resolve()
  private onExited: (() => void) | null = null
  private finishing = false
  private statsTimer: NodeJS.Timeout | null = null
  private diskTimer: NodeJS.Timeout | null = null
  /** The stats pass in flight: one at a time, and callers that need its figures wait for it. */
  private sampling: Promise<void> | null = null
  private runWatch: FSWatcher | null = null
  private readonly logger: FastifyBaseLogger

  constructor(
    public spec: ServerSpec,
    private readonly opts: SupervisorOptions,
  ) {
    this.logger = opts.log.child({ serverId: spec.uuid })
    this.log = new ConsoleLog(join(opts.dataDir, 'logs', spec.uuid, 'console.log'), opts.logFiles)
    this.feed = new ConsoleFeed({
      uuid: spec.uuid,
      log: this.log,
      sink: opts.sink,
      logger: this.logger,
      bufferLines: opts.bufferLines,
      throttleLines: opts.throttleLines,
      throttlePeriodMs: opts.throttlePeriodMs,
      watch: (text) => {
        if (this.state === 'starting' && this.donePattern?.test(text)) this.setState('running')
      },
    })
    this.stats = new ServerStats(() => this.spec.cwd)
    this.runDir = join(opts.dataDir, 'holders', spec.uuid)
    this.cgroup = new ServerCgroup(opts.isolation.current.cgroups, spec.uuid)
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
    this.stats.rx += Buffer.byteLength(data)
    return true
  }

  snapshot(): StatsSnapshot {
    return this.stats.snapshot({ alive: this.holder !== null, state: this.state, startedAt: this.record?.startedAt ?? null, memoryLimitMb: this.spec.memoryLimitMb, tx: this.feed.tx })
  }

  /** The figures now: a game that has not been measured since it started is measured first
   * (asking right after start must not read 0 bytes of memory for a running game). */
  async currentSnapshot(): Promise<StatsSnapshot> {
    // Twice at most: a pass already in flight may have started before the game's pid was known.
    for (let pass = 0; pass < 2 && this.holder && !this.stats.sampled; pass++) await this.tick()
    return this.snapshot()
  }

  /** The last `n` logged lines. */
  history(n: number): LogLine[] {
    return this.feed.history(n)
  }

  /** Logged lines after `seq` (at most `limit`). */
  since(seq: number, limit: number): Promise<LogLine[]> {
    return this.feed.since(seq, limit)
  }

  /** A line from wirehub itself, in Wings' `[<App> Daemon]:` style; never throttled. */
  notice(text: string): void {
    if (this.holder) this.feed.queue(text)
    else void this.feed.say(text)
  }

  /** wirehub stops: stop the game (SERVERS_STOP_ON_SHUTDOWN) or let go of it, leaving it running. */
  async shutdown(): Promise<void> {
    this.locked = true
    await this.ready
    if (this.opts.stopOnShutdown) await this.stop('shutdown')
    this.stopTimers()
    this.holder?.closeStdin()
    await this.feed.close()
  }

  private async init(): Promise<void> {
    const tail = await this.feed.load()
    void this.stats.measureDisk()
    const holder = new Holder(this.runDir)
    const record = await holder.record()
    if (!record) return
    if (await Holder.aliveRetrying(record)) {
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

  /** Says why the server cannot start and goes back to offline. */
  private async refuse(text: string): Promise<void> {
    await this.feed.say(text)
    this.opts.sink.desired(this.spec.uuid, 'offline')
    this.setState('offline')
  }

  private async start(): Promise<void> {
    if (this.state !== 'offline') return
    this.setState('starting')
    const spec = this.spec
    let following = false
    try {
      await mkdir(spec.cwd, { recursive: true })
      if (spec.diskLimitMb > 0 && (await directorySize(spec.cwd)) > spec.diskLimitMb * 1048576) {
        return await this.refuse(`Server is exceeding the assigned disk space limit (${spec.diskLimitMb} MiB): it cannot start until files are removed.`)
      }
      const iso = await this.opts.isolation.ensure()
      if (iso.blocked) return await this.refuse(`Game servers cannot start on this node: ${iso.blocked}.`)
      const { sandbox } = iso
      if (sandbox.kind === 'none' && sandbox.required) {
        return await this.refuse(`This node requires a sandbox (SERVERS_SANDBOX=bwrap), which is not available: ${sandbox.reason}.`)
      }
      if (sandbox.user) await ownFolder(spec.cwd, sandbox.user)
      const argv = gameArgv(spec, sandbox, { dataDir: this.opts.dataDir, hideDirs: this.opts.hiddenDirs(spec.uuid), hideFiles: this.opts.hiddenFiles })
      this.cgroup = new ServerCgroup(iso.cgroups, spec.uuid)
      const cgroupProcs = await this.cgroup.prepare({ memoryMb: spec.memoryLimitMb, cpuPercent: spec.cpuLimit, pids: this.opts.pidsLimit })
      await this.feed.followFromEnd()
      following = true
      const { holder, record } = await Holder.spawn({
        runDir: this.runDir,
        logFile: this.log.file,
        lastSeq: this.feed.lastSeq,
        logBytes: await this.log.size(),
        maxBytes: this.opts.logMaxBytes,
        keep: this.opts.logFiles,
        cgroupProcs,
        argv,
        cwd: spec.cwd,
        env: gameEnvironment(spec),
        spawner: this.opts.isolation.spawner,
      })
      this.stats.reset()
      this.intent = null
      await this.attach(holder, record, this.donePattern ? 'starting' : 'running')
    } catch (err) {
      if (following) await this.feed.stopFollowing()
      this.logger.warn({ err }, 'server process failed to start')
      await this.refuse(`Failed to start the server process: ${(err as Error).message}`)
    }
  }

  private async attach(holder: Holder, record: HolderRecord, state: ServerState): Promise<void> {
    this.holder = holder
    this.record = record
    this.finishing = false
    await this.feed.followFromLastSeen()
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
    this.diskTimer = setInterval(() => void this.stats.measureDisk(), this.opts.diskIntervalMs)
    this.statsTimer.unref()
    this.diskTimer.unref()
    void this.tick()
  }

  /** Stats, limits and the liveness check of the holder (its exit file is the usual signal). */
  private tick(): Promise<void> {
    if (this.sampling) return this.sampling
    if (!this.holder || this.finishing) return Promise.resolve()
    this.sampling = this.samplePass().finally(() => (this.sampling = null))
    return this.sampling
  }

  private async samplePass(): Promise<void> {
    try {
      const holder = this.holder
      if (!holder) return
      void this.feed.poke()
      const code = await holder.exitCode()
      // alive() throws when /proc cannot be read: the next tick tries again.
      if (code !== null || !(await Holder.alive(this.record!))) return void (await this.finish(code))
      if (!this.stats.tracking) {
        this.gamePid = await holder.gamePid()
        if (this.gamePid) this.stats.track(this.gamePid)
      }
      if (!(await this.stats.sample()) || !this.holder) return
      const memory = this.stats.memory
      const limit = this.spec.memoryLimitMb * 1024 * 1024
      // With a cgroup the kernel enforces the limit; this polling kill is the fallback.
      if (this.cgroup.support.version === null && limit > 0 && memory > limit && this.intent !== 'oom') {
        this.feed.queue(`Server is exceeding the assigned memory limit (${Math.round(memory / 1048576)} MiB > ${this.spec.memoryLimitMb} MiB), killing the process now.`)
        void this.kill('oom')
      }
      if (this.spec.diskLimitMb > 0 && this.stats.disk > this.spec.diskLimitMb * 1048576 && this.intent === null) {
        this.feed.queue(`Server is exceeding the assigned disk space limit (${this.spec.diskLimitMb} MiB), stopping the process now.`)
        void this.stop('stop')
      }
      this.opts.sink.stats(this.spec.uuid, this.snapshot())
    } catch (err) {
      this.logger.debug({ err }, 'stats sample failed')
    }
  }

  /** The game ended: read its last lines, report how, and go offline. */
  private async finish(code: number | null): Promise<void> {
    if (this.finishing) return
    this.finishing = true
    this.stopTimers()
    await this.feed.stopFollowing()
    const oomKilled = (await this.cgroup.oomKills()) > 0
    await this.cgroup.remove()
    const intent = oomKilled ? 'oom' : this.intent
    const holder = this.holder!
    this.holder = null
    this.record = null
    this.stats.untrack()
    this.gamePid = null
    this.intent = null
    await holder.clear()
    const notices = this.feed.takeQueued()
    if (oomKilled) notices.push(`Server is exceeding the assigned memory limit (${this.spec.memoryLimitMb} MiB): the kernel killed the process.`)
    if (intent === null || intent === 'oom') {
      // Wings' crash-detection output.
      notices.push('---------- Detected server process in a crashed state! ----------', `Exit code: ${code ?? 'unknown'}`, `Out of memory: ${intent === 'oom'}`)
      this.opts.sink.desired(this.spec.uuid, 'offline')
      this.logger.info({ code, oom: intent === 'oom' }, 'server process crashed')
    }
    await this.feed.say(...notices)
    this.setState('offline')
    this.finishing = false
    this.onExited?.()
    void this.stats.measureDisk().then(() => this.opts.sink.stats(this.spec.uuid, this.snapshot()))
  }

  private async stop(intent: 'stop' | 'shutdown'): Promise<void> {
    if (!this.holder || this.state === 'offline') return
    this.setIntent(intent)
    this.setState('stopping')
    if (this.spec.stopType === 'signal') {
      const pid = this.gamePid ?? (await this.holder.waitGamePid())
      if (pid) signal(await signalTarget(pid), this.spec.stopValue as NodeJS.Signals)
    } else {
      this.stats.rx += Buffer.byteLength(this.spec.stopValue) + 1
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
      this.feed.queue(`Server did not stop within ${Math.round(this.opts.stopTimeoutMs / 1000)} seconds; killing the process.`)
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
}
