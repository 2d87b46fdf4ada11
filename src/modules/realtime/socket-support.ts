/**
 * Pure pieces of the socket session core, tested directly: strict JSON parsing of inbound
 * frames (prototype-pollution keys refused) and the token timers, which warn ahead of expiry and
 * then, as Wings does, repeat `expiring` and `expired` every REPEAT_MS while the condition holds:
 * those repeats are what make a client whose refresh failed try again.
 */

export type ParseError = 'invalid_json' | 'forbidden_key' | 'binary'
export type ParsedFrame = { ok: true; value: unknown } | { ok: false; error: ParseError | 'too_large' }

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

class ForbiddenKey extends Error {}

function reviver(key: string, value: unknown) {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key)
  return value
}

export function frameBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
}

/**
 * Whether a frame could name a forbidden key. A key can only be one if its letters are in the
 * text, written plainly or with a `\u` escape (JSON allows either); a frame with neither is
 * parsed without the reviver, which costs a call per key and value.
 */
function mayNameForbiddenKey(buf: Buffer): boolean {
  return buf.includes('__proto__') || buf.includes('constructor') || buf.includes('prototype') || buf.includes('\\u')
}

/** Parses an inbound text frame as JSON; never throws. */
export function parseText(buf: Buffer, isBinary: boolean): ParsedFrame {
  if (isBinary) return { ok: false, error: 'binary' }
  try {
    const text = buf.toString('utf8')
    return { ok: true, value: mayNameForbiddenKey(buf) ? JSON.parse(text, reviver) : JSON.parse(text) }
  } catch (err) {
    return { ok: false, error: err instanceof ForbiddenKey ? 'forbidden_key' : 'invalid_json' }
  }
}

/** Size check then parse, for callers that do both at once. */
export function parseFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean, maxBytes: number): ParsedFrame {
  const buf = frameBuffer(data)
  if (buf.length > maxBytes) return { ok: false, error: 'too_large' }
  return parseText(buf, isBinary)
}

/** Wings repeats `token expiring` / `token expired` on this period while the condition holds. */
export const REPEAT_MS = 30_000
/** The warning comes at most this many seconds before expiry (Wings: 60)... */
export const MAX_WARN_SEC = 60

/** ...and never earlier than half the token's lifetime: a 60 s token is not "expiring" at once. */
export function warnLeadSec(iatSec: number, expSec: number): number {
  return Math.min(MAX_WARN_SEC, Math.max(0, expSec - iatSec) / 2)
}

/** Who the timers call. */
export interface TokenTimerTarget {
  tokenExpiring(expSec: number): void
  tokenExpired(): void
}

/**
 * One socket's token timers, as state the socket keeps in its own fields (a session is one: no
 * object per socket). `resetTokenTimers(t, iat, exp)` after each successful auth;
 * `clearTokenTimers(t)` at close. `tokenExpiring` fires at exp − warnLeadSec and every
 * `tokenRepeatMs` after while the token is still valid; `tokenExpired` fires at exp and every
 * `tokenRepeatMs` after until the next reset.
 */
export interface TokenTimerState extends TokenTimerTarget {
  /** The shared timer this socket waits on, or null. */
  timerSlot: DueSlot | null
  timerPhase: 'expiring' | 'expired'
  /** The token's exp in seconds. */
  timerExp: number
  readonly tokenRepeatMs: number
}

/**
 * One Timeout per due time, shared by every socket due then. Due times derive from the token's
 * `exp` (whole seconds) and repeats from the previous due time, so sockets whose tokens were
 * issued in the same second share a timer: a Timeout and a closure per socket were a tenth of
 * an idle authenticated socket's heap.
 */
export interface DueSlot {
  at: number
  timer: NodeJS.Timeout
  members: Set<TokenTimerState>
}

class DueTimers {
  private readonly slots = new Map<number, DueSlot>()

  add(at: number, member: TokenTimerState): DueSlot {
    let slot = this.slots.get(at)
    if (!slot) {
      const members = new Set<TokenTimerState>()
      const timer = setTimeout(() => {
        this.slots.delete(at)
        // A member cleared by another member's handler is deleted from the set before its turn.
        for (const m of members) fireTokenTimer(m, due)
      }, Math.max(0, at - Date.now()))
      timer.unref()
      const due: DueSlot = { at, timer, members }
      slot = due
      this.slots.set(at, slot)
    }
    slot.members.add(member)
    return slot
  }

  remove(slot: DueSlot, member: TokenTimerState): void {
    slot.members.delete(member)
    if (slot.members.size === 0 && this.slots.get(slot.at) === slot) {
      clearTimeout(slot.timer)
      this.slots.delete(slot.at)
    }
  }
}

const dueTimers = new DueTimers()

export function resetTokenTimers(t: TokenTimerState, iatSec: number, expSec: number): void {
  clearTokenTimers(t)
  t.timerExp = expSec
  schedule(t, expSec * 1000 - warnLeadSec(iatSec, expSec) * 1000, 'expiring')
}

export function clearTokenTimers(t: TokenTimerState): void {
  if (t.timerSlot) dueTimers.remove(t.timerSlot, t)
  t.timerSlot = null
}

function schedule(t: TokenTimerState, at: number, phase: 'expiring' | 'expired'): void {
  t.timerPhase = phase
  t.timerSlot = dueTimers.add(at, t)
}

/** Called by the shared timer of `slot` (ignored when the socket no longer waits on it). */
function fireTokenTimer(t: TokenTimerState, slot: DueSlot): void {
  if (t.timerSlot !== slot) return
  t.timerSlot = null
  const at = slot.at
  const expMs = t.timerExp * 1000
  const left = expMs - Date.now()
  if (t.timerPhase === 'expiring' && left > 0) {
    t.tokenExpiring(t.timerExp)
    // The next repeat, or expiry if that comes first.
    if (expMs - at > t.tokenRepeatMs) schedule(t, at + t.tokenRepeatMs, 'expiring')
    else schedule(t, expMs, 'expired')
    return
  }
  t.tokenExpired()
  schedule(t, Math.max(at, expMs) + t.tokenRepeatMs, 'expired')
}
