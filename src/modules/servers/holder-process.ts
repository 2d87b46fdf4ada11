/**
 * Starting a holder process (holder/holder.sh) and the launcher's wire format. Shared by wirehub
 * (which starts holders itself unless SERVERS_LAUNCHER is set) and by the launcher
 * (src/launcher.ts), a separate long-lived process that starts them on wirehub's request so they
 * live outside wirehub's container. Node built-ins only: the launcher image carries this file,
 * the launcher and the holder script, nothing else of wirehub.
 *
 * Protocol: one connection per request on a unix socket; the client writes one JSON line, the
 * launcher answers one JSON line and closes.
 *   {"op":"spawn","args":[…],"cwd":"…","env":{…}}  →  {"pid":123}  |  {"error":"…"}
 *   {"op":"ping"}                                   →  {"pid":<launcher pid>,"uid":<its uid>}
 * `args` are the holder script's arguments (holder.sh usage); the launcher runs nothing else.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const HOLDER_SCRIPT = fileURLToPath(new URL('./holder/holder.sh', import.meta.url))
/** Largest request the launcher reads (a holder's arguments and environment). */
export const MAX_REQUEST_BYTES = 1_048_576

export interface HolderStart {
  /** holder.sh's arguments: run folder, log file, …, `--`, the command. */
  args: string[]
  cwd: string
  /** The whole environment of the holder and the game (nothing is inherited). */
  env: Record<string, string>
}

export type LauncherRequest = ({ op: 'spawn' } & HolderStart) | { op: 'ping' }
export type LauncherReply = { pid: number; uid?: number } | { error: string }

/**
 * Starts a holder detached (its own session, no stdio shared with the caller), so it outlives
 * the process that started it; resolves with its pid. The caller reaps it (Node does so for its
 * own children) or, once the caller is gone, init does.
 */
export function startHolder(h: HolderStart): Promise<number> {
  const child = spawn('/bin/sh', [HOLDER_SCRIPT, ...h.args], { cwd: h.cwd, env: h.env, stdio: 'ignore', detached: true })
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.once('spawn', () => {
      child.unref()
      resolve(child.pid!)
    })
  })
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')

/** Checks a request's shape; returns the reason when it is not one the launcher serves. */
export function parseRequest(text: string): LauncherRequest | string {
  let req: unknown
  try {
    req = JSON.parse(text)
  } catch {
    return 'not JSON'
  }
  if (typeof req !== 'object' || req === null) return 'not an object'
  const r = req as Record<string, unknown>
  if (r.op === 'ping') return { op: 'ping' }
  if (r.op !== 'spawn') return 'unknown op'
  if (!isStrings(r.args) || !r.args.includes('--')) return 'args must be the holder arguments'
  if (typeof r.cwd !== 'string' || !r.cwd.startsWith('/')) return 'cwd must be an absolute path'
  const env = r.env
  if (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string')) return 'env must map names to strings'
  return { op: 'spawn', args: r.args, cwd: r.cwd, env: env as Record<string, string> }
}
