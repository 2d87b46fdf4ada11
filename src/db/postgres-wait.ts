/**
 * The bounded wait for PostgreSQL at start-up: in a compose file or after a host reboot the
 * database often comes up a few seconds after wirehub, so connection refusals are retried for
 * DATABASE_WAIT seconds (logged), while problems that waiting cannot fix (wrong password, unknown
 * database) fail at once. Either way the failure is one StartupError naming DATABASE_URL's host
 * and database, never its password.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { StartupError } from '../lib/startup-errors.js'

export interface WaitLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

/** Errors of a server that is not (yet) there, or still starting: worth waiting for. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', '57P03'])
const RETRY_EVERY_MS = 1000
const LOG_EVERY_MS = 5000

/** `host:port/database` of a PostgreSQL URL, without credentials. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 5432}${u.pathname.length > 1 ? u.pathname : ''}`
  } catch {
    return '(unparseable DATABASE_URL)'
  }
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errors?: Array<{ code?: unknown }> }
  // A host name that resolves to several addresses fails with an AggregateError of each attempt.
  return String(e.code ?? e.errors?.[0]?.code ?? (err instanceof Error && /timeout/i.test(err.message) ? 'ETIMEDOUT' : 'unknown'))
}

function terminalMessage(url: string, err: unknown): string {
  const target = describeTarget(url)
  const user = (() => {
    try {
      return decodeURIComponent(new URL(url).username) || 'the default user'
    } catch {
      return 'the configured user'
    }
  })()
  switch (codeOf(err)) {
    case '28P01':
    case '28000':
      return `PostgreSQL at ${target} refused the credentials of ${user} (DATABASE_URL): check the user name and password`
    case '3D000':
      return `PostgreSQL at ${target} has no such database (DATABASE_URL): create it (e.g. \`createdb\`) or fix the name`
    default:
      return `cannot connect to PostgreSQL at ${target} (DATABASE_URL): ${err instanceof Error ? err.message : String(err)}`
  }
}

/** Resolves once `select 1` succeeds; throws StartupError when it cannot within `waitSeconds`. */
export async function waitForPostgres(pool: pg.Pool, url: string, waitSeconds: number, log?: WaitLogger): Promise<void> {
  const started = Date.now()
  const deadline = started + waitSeconds * 1000
  let lastLog = 0
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('select 1')
      if (attempt > 1) log?.info({ waitedMs: Date.now() - started, attempts: attempt }, `PostgreSQL at ${describeTarget(url)} is up`)
      return
    } catch (err) {
      const code = codeOf(err)
      if (!TRANSIENT.has(code)) throw new StartupError(terminalMessage(url, err), 69)
      const now = Date.now()
      if (now + RETRY_EVERY_MS > deadline) {
        const waited = waitSeconds > 0 ? ` within ${waitSeconds} s (DATABASE_WAIT)` : ' (DATABASE_WAIT=0: not waiting)'
        throw new StartupError(`PostgreSQL at ${describeTarget(url)} did not accept connections${waited}: ${code}; is it running, and is DATABASE_URL right?`, 69)
      }
      if (now - lastLog >= LOG_EVERY_MS) {
        lastLog = now
        const left = Math.ceil((deadline - now) / 1000)
        log?.warn({ code, attempt }, `waiting for PostgreSQL at ${describeTarget(url)} (${code}); giving up in ${left} s (DATABASE_WAIT)`)
      }
      await sleep(RETRY_EVERY_MS)
    }
  }
}
