/**
 * What each test file in the test mirror (scripts/test.mjs) runs: the file's compiled code in a
 * child Node process without tap's process-info hook.
 *
 * tap's runner preloads that hook (@tapjs/processinfo) into every test process and, through
 * NODE_OPTIONS, into everything they start. On Node before 24.13 it registers asynchronous module
 * hooks, which move module resolution and loading onto a separate thread: every import of the
 * ~1,000 modules a test process loads becomes a round trip to it, ~1.4 s of CPU per test file
 * even when it records nothing. The hook serves coverage, which the suite does not collect.
 *
 * This stub is what tap starts (a handful of modules through the hook); the test itself runs in
 * a child with the same environment minus the hook, its TAP output on the same stdout, tap's
 * messages relayed both ways over IPC (timeouts, comments), and tap's signals (SIGALRM on a
 * timeout) passed on; the stub ends as the child ended, with its code or its signal.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const RELAYED = ['SIGALRM', 'SIGTERM', 'SIGINT', 'SIGHUP']

/** NODE_OPTIONS without tap's process-info preload (anything else in it is kept). */
function withoutProcessInfo(options) {
  if (!options) return undefined
  const kept = options
    .split(/\s+/)
    .filter((arg) => arg && !arg.includes('@tapjs/processinfo'))
    .join(' ')
  return kept || undefined
}

/** Runs `main` (a file URL) as the test process; never returns. */
export function runTest(main) {
  const env = { ...process.env }
  const options = withoutProcessInfo(env.NODE_OPTIONS)
  if (options) env.NODE_OPTIONS = options
  else delete env.NODE_OPTIONS
  // The hook also adds itself to everything its process spawns (through process-on-spawn, which
  // keeps its listeners in a global): this process spawns exactly one child, without it.
  const onSpawn = globalThis[Symbol.for('process-on-spawn@*:singletonId')]
  if (onSpawn && Array.isArray(onSpawn.listeners)) onSpawn.listeners = []
  const child = spawn(process.execPath, ['--enable-source-maps', fileURLToPath(main)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env,
  })
  child.on('message', (msg) => process.send?.(msg))
  process.on('message', (msg) => {
    if (child.connected) child.send(msg)
  })
  for (const sig of RELAYED) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => {
    if (signal) {
      for (const sig of RELAYED) process.removeAllListeners(sig)
      process.kill(process.pid, signal)
      return
    }
    process.exit(code ?? 1)
  })
}
