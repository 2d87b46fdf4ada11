/**
 * Runs the server as a real process and reads its JSON log lines, for the tests that need a real
 * start-up, a real port, signals and exit codes. The process is `node dist/server.js` (what
 * `npm start` runs) when dist/ is current, else the source through tsx: see ../entry-point.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { entryArgs } from '../entry-point.js'

export const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  /** Parsed JSON log lines (stdout) so far. */
  logs: Array<Record<string, unknown>>
  stdout(): string
  stderr(): string
  /** Resolves with the first log line matching, or rejects after `ms`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/**
 * Starts the server with only the given variables (plus PATH/HOME): no DATABASE_URL or ADMIN_*
 * leak in from the test runner's environment. cwd is a folder without a `.env`. `detached` gives
 * it a process group of its own (to kill it with everything it started, as a container stop).
 */
export function startServer(env: Record<string, string>, cwd: string, opts: { detached?: boolean } = {}): ServerProcess {
  const child = spawn(process.execPath, entryArgs('server'), {
    cwd,
    detached: opts.detached ?? false,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Array<Record<string, unknown>> = []
  let out = ''
  let err = ''
  let partial = ''
  const waiters = new Set<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>()
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    partial += chunk
    let nl
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      let parsed: Record<string, unknown>
      try {
        parsed = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue
      }
      logs.push(parsed)
      for (const w of waiters) if (w.match(parsed)) {
        waiters.delete(w)
        w.resolve(parsed)
      }
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }))
  })
  return {
    child,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog(match, ms = 60_000) {
      const found = logs.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const w = { match, resolve: (l: Record<string, unknown>) => { clearTimeout(timer); resolve(l) } }
        const timer = setTimeout(() => {
          waiters.delete(w)
          reject(new Error(`timed out waiting for a log line; stdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-2000)}`))
        }, ms)
        waiters.add(w)
        void exited.then(() => {
          if (!waiters.has(w)) return
          waiters.delete(w)
          clearTimeout(timer)
          reject(new Error(`process exited before the log line; stdout:\n${out.slice(-2000)}\nstderr:\n${err.slice(-2000)}`))
        })
      })
    },
  }
}

/** Waits for 'wirehub started' and returns the base URL and the start-up time it logged. */
export async function started(p: ServerProcess, ms = 90_000): Promise<{ url: string; ms: number }> {
  const line = await p.waitForLog((l) => l.msg === 'wirehub started', ms)
  return { url: String(line.url), ms: Number(line.ms) }
}

/** A temporary folder for one test, removed at its end. */
export function workspace(t: Test, name: string): string {
  const root = mkdtempSync(join(tmpdir(), `wirehub-${name}-`))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  return root
}

/** Starts the server at info level without the demo server; killed at the end of the test. */
export function launch(t: Test, env: Record<string, string>, cwd: string): ServerProcess {
  const p = startServer({ LOG_LEVEL: 'info', DEMO_SERVER: 'false', ...env }, cwd)
  t.teardown(() => void p.child.kill('SIGKILL'))
  return p
}

/** stderr is exactly one line, without a stack trace. */
export function oneLine(t: Test, stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr: ${stderr.trim()}`)
  t.match(lines[0], pattern)
  t.notMatch(stderr, /\n\s+at |\[object Object\]/, 'no stack and no [object Object]')
}
