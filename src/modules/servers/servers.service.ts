/**
 * Game servers: definitions (Application API), who may do what (owner, administrator, subuser),
 * power actions and console commands with their activity log, and the in-memory registry of this
 * node's servers that the console socket reads synchronously. Revocation hooks tell the console
 * socket when access changed (suspension, deletion, subuser edits).
 */
import { randomUUID } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/config.schema.js'
import { BadGateway, Conflict, FieldError, NotFound } from '../../lib/errors.js'
import type { AuthUser } from '../auth/principal.js'
import { P, has, permissionsFor, type AccessRole } from './permissions.js'
import type { ServerRow, ServersRepository } from './servers.repository.js'
import { isStopSignal, type PowerAction, type ServerSpec, type Supervisor } from './supervisor.js'
import type { ConsoleLog, LogLine } from './console-log.js'

export const SUSPENDED_MESSAGE = 'This server is currently suspended and the functionality requested is unavailable.'
export const OFFLINE_COMMAND_MESSAGE = 'Server must be online in order to send commands.'

export interface Access {
  role: AccessRole
  permissions: string[]
  /** When this user's access to the server last changed (ms); older socket tokens are refused. */
  changedAtMs: number
}

/** What the console socket must hear about; implemented by console.socket.ts. */
export interface RevocationHooks {
  /** A user's access to a server changed or ended: close their console sockets there. */
  accessChanged(userId: number, serverUuid: string): void
  /** The server was suspended or deleted: close every console socket on it. */
  serverClosed(serverUuid: string, why: 'suspended' | 'deleted'): void
  /** Owner or other broad change: re-check every socket on the server. */
  serverChanged(serverUuid: string): void
}

export interface ServerInput {
  name?: string
  description?: string
  user?: number
  command?: string
  args?: string[]
  cwd?: string | null
  environment?: Record<string, string>
  stop?: { type: 'command' | 'signal'; value: string }
  done_pattern?: string | null
  limits?: { memory: number; cpu?: number; disk?: number }
  suspended?: boolean
}

export interface Actor {
  user: AuthUser
  ip: string | null
  /** true for API keys (Pterodactyl's `is_api`). */
  viaApi: boolean
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

export function createServersService(deps: {
  repo: ServersRepository
  supervisor: Supervisor
  cfg: Pick<Config, 'DATA_DIR' | 'NODE_NAME'>
  log: FastifyBaseLogger
  hooks: RevocationHooks
}) {
  const { repo, supervisor, cfg, log, hooks } = deps
  /** This node's servers by uuid (the console socket resolves them without a query). */
  const registry = new Map<string, ServerRow>()
  const byShort = new Map<string, string>()

  const defaultCwd = (uuid: string) => join(cfg.DATA_DIR, 'servers', uuid)
  const cwdOf = (row: ServerRow) => row.cwd ?? defaultCwd(row.uuid)

  function specOf(row: ServerRow): ServerSpec {
    return {
      uuid: row.uuid,
      command: row.command,
      args: row.args,
      cwd: cwdOf(row),
      env: (row.env ?? {}) as Record<string, string>,
      stopType: row.stopType === 'signal' ? 'signal' : 'command',
      stopValue: row.stopValue,
      donePattern: row.donePattern,
      memoryLimitMb: row.memoryLimitMb,
      cpuLimit: row.cpuLimit,
      diskLimitMb: row.diskLimitMb,
    }
  }

  function track(row: ServerRow): void {
    registry.set(row.uuid, row)
    byShort.set(row.uuidShort, row.uuid)
    supervisor.register(specOf(row))
  }

  function validate(input: ServerInput): void {
    if (input.command !== undefined && (input.command.trim() === '' || input.command.includes('\0'))) {
      throw new FieldError('command', 'The command must be a program path or name.')
    }
    if (input.args?.some((a) => a.includes('\0'))) throw new FieldError('args', 'Arguments cannot contain NUL characters.')
    if (input.cwd != null && !isAbsolute(input.cwd)) throw new FieldError('cwd', 'The working directory must be an absolute path.')
    for (const key of Object.keys(input.environment ?? {})) {
      if (!ENV_KEY.test(key)) throw new FieldError('environment', `${key} is not a valid environment variable name.`)
    }
    if (input.stop?.type === 'signal' && !isStopSignal(input.stop.value)) {
      throw new FieldError('stop.value', 'The stop signal must be one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2.')
    }
    if (input.stop?.type === 'command' && input.stop.value.trim() === '') throw new FieldError('stop.value', 'The stop command cannot be empty.')
    if (input.done_pattern) {
      try {
        new RegExp(input.done_pattern)
      } catch (err) {
        throw new FieldError('done_pattern', `Not a valid regular expression: ${(err as Error).message}`)
      }
    }
  }

  async function ownerExists(userId: number): Promise<void> {
    if (!(await repo.userById(userId))) throw new FieldError('user', 'The selected user is invalid.', 'exists')
  }

  function dataOf(input: ServerInput) {
    return {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.user !== undefined ? { ownerId: input.user } : {}),
      ...(input.command !== undefined ? { command: input.command } : {}),
      ...(input.args !== undefined ? { args: input.args } : {}),
      ...(input.cwd !== undefined ? { cwd: input.cwd } : {}),
      ...(input.environment !== undefined ? { env: input.environment } : {}),
      ...(input.stop !== undefined ? { stopType: input.stop.type, stopValue: input.stop.value } : {}),
      ...(input.done_pattern !== undefined ? { donePattern: input.done_pattern } : {}),
      ...(input.limits !== undefined ? { memoryLimitMb: input.limits.memory } : {}),
      ...(input.limits?.cpu !== undefined ? { cpuLimit: input.limits.cpu } : {}),
      ...(input.limits?.disk !== undefined ? { diskLimitMb: input.limits.disk } : {}),
      ...(input.suspended !== undefined ? { suspended: input.suspended } : {}),
    }
  }

  /** Suspension kills the process (Pterodactyl stops a server it suspends) and closes sockets. */
  async function applySuspension(row: ServerRow): Promise<void> {
    hooks.serverClosed(row.uuid, 'suspended')
    await supervisor.get(row.uuid)?.power('kill').catch(() => {})
  }

  async function activity(row: ServerRow, actor: Actor, event: string, properties: object = {}): Promise<void> {
    try {
      await repo.logActivity({ serverId: row.id, actorId: actor.user.id, actorEmail: actor.user.email || null, event, properties: { ...properties, ...(actor.viaApi ? { _api: true } : {}) }, ip: actor.ip })
    } catch (err) {
      log.warn({ err, event }, 'activity log write failed')
    }
  }

  return {
    specOf,
    cwdOf,

    /** Loads this node's servers into the supervisor; returns the ones that should be running. */
    async load(): Promise<ServerRow[]> {
      const rows = await repo.allOnNode(cfg.NODE_NAME)
      for (const row of rows) track(row)
      return rows.filter((r) => r.desiredState === 'running' && !r.suspended)
    },

    /** A server of this node by uuid or short id, from memory. */
    lookup(ref: string): ServerRow | undefined {
      const lower = ref.toLowerCase()
      return registry.get(lower) ?? registry.get(byShort.get(lower) ?? '')
    },

    page: (where: object, q: { page: number; per_page: number }) => repo.page(where, q),

    /** Application API: any server by uuid, short id or numeric id. */
    async find(ref: string): Promise<ServerRow> {
      const row = await repo.find(ref, true)
      if (!row) throw new NotFound()
      return row
    },

    async create(input: ServerInput & { name: string; user: number; command: string }): Promise<ServerRow> {
      validate(input)
      await ownerExists(input.user)
      for (let attempt = 0; ; attempt++) {
        const uuid = randomUUID()
        try {
          const row = await repo.create({
            ...dataOf(input),
            name: input.name,
            ownerId: input.user,
            command: input.command,
            uuid,
            uuidShort: uuid.slice(0, 8),
            node: cfg.NODE_NAME,
          })
          await mkdir(cwdOf(row), { recursive: true })
          track(row)
          return row
        } catch (err) {
          // A short-id collision (1 in 4 billion per pair): pick another uuid.
          if ((err as { code?: string }).code === 'P2002' && attempt < 3) continue
          throw err
        }
      }
    },

    async update(ref: string, input: ServerInput): Promise<ServerRow> {
      validate(input)
      const before = await this.find(ref)
      if (input.user !== undefined) await ownerExists(input.user)
      const row = await repo.update(before.id, dataOf(input))
      if (row.cwd !== before.cwd) await mkdir(cwdOf(row), { recursive: true })
      if (row.node === cfg.NODE_NAME) track(row)
      if (row.suspended && !before.suspended) await applySuspension(row)
      else if (row.ownerId !== before.ownerId) hooks.serverChanged(row.uuid)
      return row
    },

    async remove(ref: string): Promise<void> {
      const row = await this.find(ref)
      hooks.serverClosed(row.uuid, 'deleted')
      await supervisor.remove(row.uuid)
      registry.delete(row.uuid)
      byShort.delete(row.uuidShort)
      await repo.remove(row.id)
      // Only the folder wirehub created itself is removed; an administrator's own cwd is left alone.
      if (!row.cwd) await rm(defaultCwd(row.uuid), { recursive: true, force: true }).catch(() => {})
    },

    /** The caller's access to a server (null: the server is invisible to them). */
    async access(user: Pick<AuthUser, 'id'>, row: ServerRow): Promise<Access | null> {
      const current = await repo.userById(user.id)
      if (!current) return null
      const isOwner = row.ownerId === current.id
      const sub = isOwner ? null : await repo.subuser(row.id, current.id)
      const granted = permissionsFor({ isOwner, isRootAdmin: current.rootAdmin, subuserPermissions: sub?.permissions ?? null })
      if (!granted) return null
      return { ...granted, changedAtMs: granted.role === 'subuser' && sub ? sub.updatedAt.getTime() : 0 }
    },

    /** Client API resolution: 404 when unknown or invisible, 409 when suspended (unless allowed). */
    async resolveForClient(user: AuthUser, ref: string, opts: { allowSuspended?: boolean } = {}) {
      const row = await repo.find(ref, false)
      if (!row) throw new NotFound()
      const access = await this.access(user, row)
      if (!access) throw new NotFound()
      if (row.suspended && !opts.allowSuspended) throw new Conflict(SUSPENDED_MESSAGE)
      return { row, access }
    },

    state(uuid: string) {
      return supervisor.get(uuid)?.state ?? 'offline'
    },

    /** The last figures, as the periodic stats event sent them. */
    stats(uuid: string) {
      return supervisor.get(uuid)?.snapshot() ?? null
    },

    /** The figures now (a game just started is measured first). */
    async currentStats(uuid: string) {
      return (await supervisor.get(uuid)?.currentSnapshot()) ?? null
    },

    /** The last `n` console lines (what `send logs` replays), from the durable log. */
    history(uuid: string, n: number): LogLine[] {
      return supervisor.get(uuid)?.history(n) ?? []
    },

    /** Logged console lines after `seq` (a console socket resuming), at most `limit`. */
    since(uuid: string, seq: number, limit: number): Promise<LogLine[]> {
      return supervisor.get(uuid)?.since(seq, limit) ?? Promise.resolve([])
    },

    /** The durable console log of a server of this node. */
    consoleLog(uuid: string): ConsoleLog | null {
      return supervisor.get(uuid)?.log ?? null
    },

    /** Names the other servers' folders, for the sandbox to hide. */
    otherFolders(uuid: string): string[] {
      const out: string[] = []
      for (const row of registry.values()) if (row.uuid !== uuid) out.push(cwdOf(row))
      return out
    },

    /** Starts a power action (throws PowerLockedError at once when one is running); resolves once logged. */
    power(row: ServerRow, action: PowerAction, actor: Actor): Promise<void> {
      const inst = supervisor.get(row.uuid)
      if (!inst) throw new Conflict('This server is not managed by this node.')
      const done = inst.power(action)
      done.catch((err: unknown) => log.error({ err, serverId: row.uuid, action }, 'power action failed'))
      return activity(row, actor, `server:power.${action}`)
    },

    /** Console input; 502 as Pterodactyl when the server is offline. */
    command(row: ServerRow, command: string, actor: Actor): Promise<void> {
      const inst = supervisor.get(row.uuid)
      if (!inst || !inst.command(command)) throw new BadGateway(OFFLINE_COMMAND_MESSAGE)
      return activity(row, actor, 'server:console.command', { command })
    },

    activity,

    /** Starts the servers that should run and are neither re-attached nor reported crashed. */
    restore(rows: ServerRow[]): void {
      for (const row of rows) {
        const inst = supervisor.get(row.uuid)
        if (!inst || inst.state !== 'offline' || inst.crashedWhileDown) continue
        try {
          supervisor.get(row.uuid)?.power('start').catch((err: unknown) => log.error({ err, serverId: row.uuid }, 'restore failed'))
        } catch (err) {
          log.warn({ err, serverId: row.uuid }, 'could not restore server')
        }
      }
    },

    /** Subusers may only grant what they hold themselves (Pterodactyl). */
    canGrant(access: Access, permissions: readonly string[]): boolean {
      return permissions.every((p) => has(access.permissions, p))
    },

    hooks,
    P,
  }
}

export type ServersService = ReturnType<typeof createServersService>
