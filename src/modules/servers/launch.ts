/**
 * What a game is started with: its command line (inside the bubblewrap sandbox when there is one)
 * and its environment. Pure functions of the server's definition and the node's isolation, so
 * the instance state machine (instance.ts) only decides when to start.
 */
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bwrapArgs, type SandboxStatus } from './sandbox.js'
import type { ServerSpec } from './supervisor.types.js'

/**
 * The folder of wirehub's code (src/ when run from the sources, dist/ when built): `$WIREHUB_DIR/`
 * at the start of a command or argument stands for it, so a stored path survives a move or an
 * upgrade of the installation.
 */
export const WIREHUB_DIR = resolve(fileURLToPath(new URL('../..', import.meta.url)))

const expand = (s: string) => (s.startsWith('$WIREHUB_DIR/') ? join(WIREHUB_DIR, s.slice('$WIREHUB_DIR/'.length)) : s)

export interface LaunchPaths {
  dataDir: string
  /** Other servers' folders, hidden from this one. */
  hideDirs: string[]
  /** wirehub's `.env` and config file, read as empty. */
  hideFiles: string[]
}

/** The argv the holder runs: the game, wrapped in bwrap when the sandbox is in use. */
export function gameArgv(spec: ServerSpec, sandbox: SandboxStatus, paths: LaunchPaths): string[] {
  const argv = [expand(spec.command), ...spec.args.map(expand)]
  if (sandbox.kind !== 'bwrap') return argv
  return ['bwrap', ...bwrapArgs({ dataDir: paths.dataDir, cwd: spec.cwd, hideDirs: paths.hideDirs, hideFiles: paths.hideFiles }, sandbox), ...argv]
}

/** What the process sees: PATH and locale from wirehub, Pterodactyl's variables, then the server's own. */
export function gameEnvironment(spec: ServerSpec): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: spec.cwd }
  for (const k of ['LANG', 'LC_ALL', 'TZ']) {
    const v = process.env[k]
    if (v) env[k] = v
  }
  env.P_SERVER_UUID = spec.uuid
  env.SERVER_MEMORY = String(spec.memoryLimitMb)
  return { ...env, ...spec.env }
}
