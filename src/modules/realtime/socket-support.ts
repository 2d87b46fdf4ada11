/**
 * Pieces every socket protocol adapter needs, so console, channels and user events behave the
 * same: the pre-upgrade Origin guard (HTTP 403 before any websocket exists), strict JSON parsing
 * of inbound frames (size-bounded, prototype-pollution keys refused), and token-expiry timers
 * that warn before expiry and fire at expiry.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { OriginPolicy } from '../../lib/origin-policy.js'
import { Forbidden } from '../../lib/errors.js'

/** preValidation hook for websocket routes: refuses a disallowed Origin with HTTP 403. */
export function originGuard(policy: OriginPolicy) {
  return async function checkOrigin(request: FastifyRequest, _reply: FastifyReply) {
    const origin = request.headers.origin
    if (!policy.allows(origin)) {
      request.log.warn({ origin: origin ?? null }, 'websocket origin refused')
      throw new Forbidden(origin ? `Origin ${origin} is not allowed to open this socket.` : 'A missing Origin header is not allowed on this socket.')
    }
  }
}

export type ParsedFrame = { ok: true; value: unknown } | { ok: false; error: 'too_large' | 'invalid_json' | 'forbidden_key' | 'binary' }

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

class ForbiddenKey extends Error {}

function reviver(key: string, value: unknown) {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key)
  return value
}

/** Parses an inbound text frame as JSON with a byte limit; never throws. */
export function parseFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean, maxBytes: number): ParsedFrame {
  if (isBinary) return { ok: false, error: 'binary' }
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
  if (buf.length > maxBytes) return { ok: false, error: 'too_large' }
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8'), reviver) }
  } catch (err) {
    return { ok: false, error: err instanceof ForbiddenKey ? 'forbidden_key' : 'invalid_json' }
  }
}

/**
 * Timers for one socket's token: `onExpiring` when `warnSec` or less remain, `onExpired` at
 * expiry. `reset` is called with the new expiry after a re-auth; `clear` at close.
 */
export class TokenTimers {
  private warn: NodeJS.Timeout | null = null
  private expire: NodeJS.Timeout | null = null

  constructor(
    private readonly warnSec: number,
    private readonly onExpiring: () => void,
    private readonly onExpired: () => void,
  ) {}

  reset(expSec: number): void {
    this.clear()
    const msLeft = expSec * 1000 - Date.now()
    const warnIn = Math.max(0, msLeft - this.warnSec * 1000)
    this.warn = setTimeout(this.onExpiring, warnIn)
    this.expire = setTimeout(this.onExpired, Math.max(0, msLeft))
    this.warn.unref()
    this.expire.unref()
  }

  clear(): void {
    if (this.warn) clearTimeout(this.warn)
    if (this.expire) clearTimeout(this.expire)
    this.warn = this.expire = null
  }
}
