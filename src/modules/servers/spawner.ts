/**
 * Who starts the holders: wirehub itself (detached children that outlive the process, enough on a
 * host) or the launcher on SERVERS_LAUNCHER (its own process, in Docker its own container, so a
 * container stop of wirehub cannot reach the games). Either way wirehub computes every argument
 * (sandbox, limits, log) and finds holders again by pid; only the parent differs.
 */
import { createConnection } from 'node:net'
import { startHolder, type HolderStart, type LauncherReply, type LauncherRequest } from './holder-process.js'

export interface Spawner {
  /** `local` or the launcher's socket path (for logs and `/ready`). */
  readonly where: string
  /** Starts a holder; resolves with its pid. */
  spawn(h: HolderStart): Promise<number>
  /** The process holders are children of: its pid (its cgroups are theirs) and its uid. */
  parent(): Promise<{ pid: number; uid: number }>
}

export class LauncherUnavailableError extends Error {
  constructor(socket: string, why: string) {
    super(`the launcher on ${socket} does not answer (${why}); start it (node dist/launcher.js) or unset SERVERS_LAUNCHER`)
  }
}

const REQUEST_TIMEOUT_MS = 10_000

function ask(socket: string, req: LauncherRequest): Promise<LauncherReply> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket)
    let data = ''
    let settled = false
    const done = (err: Error | null, reply?: LauncherReply) => {
      if (settled) return
      settled = true
      c.destroy()
      if (err) reject(err)
      else resolve(reply!)
    }
    c.setTimeout(REQUEST_TIMEOUT_MS, () => done(new LauncherUnavailableError(socket, 'no answer')))
    c.on('error', (err: NodeJS.ErrnoException) => done(new LauncherUnavailableError(socket, err.code ?? err.message)))
    c.on('connect', () => c.write(JSON.stringify(req) + '\n'))
    c.on('data', (d) => (data += d.toString('utf8')))
    c.on('end', () => {
      try {
        done(null, JSON.parse(data) as LauncherReply)
      } catch {
        done(new LauncherUnavailableError(socket, 'bad answer'))
      }
    })
  })
}

export function localSpawner(): Spawner {
  return {
    where: 'local',
    spawn: startHolder,
    parent: async () => ({ pid: process.pid, uid: process.getuid?.() ?? -1 }),
  }
}

export function launcherSpawner(socket: string): Spawner {
  return {
    where: socket,
    async spawn(h) {
      const reply = await ask(socket, { op: 'spawn', ...h })
      if ('error' in reply) throw new Error(`the launcher could not start the holder: ${reply.error}`)
      return reply.pid
    },
    async parent() {
      const reply = await ask(socket, { op: 'ping' })
      if ('error' in reply) throw new LauncherUnavailableError(socket, reply.error)
      return { pid: reply.pid, uid: reply.uid ?? -1 }
    },
  }
}
