/**
 * Recognises errors that mean "a dependency is out", not "this request is wrong" or "a bug": the
 * database cannot be reached, dropped the connection or is shutting down, or its storage is full.
 * The root error handler turns them into 503 (507 for full storage) with Retry-After instead of a
 * 500, whichever route or library (Prisma, pg, PGlite) they surface from. Pure.
 */

export type DependencyOutage = 'database_unavailable' | 'storage_full'

/** Prisma's codes for "cannot reach / lost / timed out talking to the database". */
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024'])
/** Driver-adapter error kinds with the same meaning. */
const ADAPTER_UNREACHABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'DatabaseUnavailable'])
/** Socket-level errors of a database connection. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
/** pg's own messages for a connection that went away or never came (they carry no code). */
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i

/**
 * SQLSTATEs: class 08 (connection exception), 57P01-03 (shutting down, cannot connect now),
 * 53300 (too many connections), 3D000 (the database is gone); 53100 is disk_full.
 */
function sqlState(code: string): DependencyOutage | null {
  if (code === '53100') return 'storage_full'
  if (/^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300', '3D000'].includes(code)) return 'database_unavailable'
  return null
}

function classifyOne(e: Record<string, unknown>): DependencyOutage | null {
  const code = typeof e.code === 'string' ? e.code : undefined
  const message = typeof e.message === 'string' ? e.message : ''
  if (code === 'ENOSPC' || e.errno === 28 || /ENOSPC|No space left on device|could not extend file/i.test(message)) return 'storage_full'
  if (code && PRISMA_UNREACHABLE.has(code)) return 'database_unavailable'
  if (code && NET_CODES.has(code)) return 'database_unavailable'
  if (code) {
    const state = sqlState(code)
    if (state) return state
  }
  const kind = (e.cause as { kind?: unknown } | undefined)?.kind
  if (typeof kind === 'string' && ADAPTER_UNREACHABLE.has(kind)) return 'database_unavailable'
  const adapterCause = ((e.meta as { driverAdapterError?: { cause?: Record<string, unknown> } } | undefined)?.driverAdapterError?.cause) ?? undefined
  if (adapterCause) {
    if (typeof adapterCause.kind === 'string' && ADAPTER_UNREACHABLE.has(adapterCause.kind)) return 'database_unavailable'
    const original = adapterCause.originalCode ?? adapterCause.code
    if (typeof original === 'string') {
      const state = sqlState(original)
      if (state) return state
    }
    if (typeof adapterCause.originalMessage === 'string' && /No space left on device|could not extend file/i.test(adapterCause.originalMessage)) return 'storage_full'
  }
  if (PG_MESSAGES.test(message)) return 'database_unavailable'
  return null
}

/** The outage an error stands for (looking through `cause` chains and aggregates), or null. */
export function classifyOutage(err: unknown): DependencyOutage | null {
  const seen = new Set<unknown>()
  const queue: unknown[] = [err]
  while (queue.length > 0 && seen.size < 16) {
    const e = queue.shift()
    if (!e || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const found = classifyOne(e as Record<string, unknown>)
    if (found) return found
    const r = e as { cause?: unknown; errors?: unknown }
    queue.push(r.cause)
    if (Array.isArray(r.errors)) queue.push(...r.errors)
  }
  return null
}
