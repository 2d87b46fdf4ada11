/**
 * One socket's life, the same whatever protocol it speaks (console, channels, user events):
 *
 *   admission → auth deadline → token timers → inbound pipeline → internal errors → close
 *
 * The inbound pipeline is size → rate → parse → ordered handling. Size: a frame over the
 * family's limit closes with 1009. Rate: one token bucket per socket for messages and pings; the
 * first dropped message of an episode gets the family's notice, and a flood past one second's
 * worth of drops in a row closes with 4029. Parse: strict JSON; a refusal is reported in the
 * family's shape. Handling: strictly in arrival order, one message at a time (a step may wait
 * on the database), with at most MAX_QUEUE waiting. A handler that throws closes the socket
 * with 1011 on every family, after logging it.
 *
 * Token timers (socket-support.ts) call the adapter's `expiring`/`expired` at
 * min(60 s, TTL/2) before expiry and every 30 s while the condition holds; while expired the
 * session's `expired` is true, its hub subscriptions (taken through `subscribe`) are paused
 * until the renewing `authenticated`, and adapters refuse events in their own error shape.
 * Failed auths past the family's `maxAuthFailures` close an unauthenticated socket (4003).
 *
 * A protocol adapter only decodes, authenticates (then calls `authenticated`) and handles its
 * own messages; the index (session-index.ts) finds sessions by user, credential and resource and
 * counts them for the families' connection limits.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import { CLOSE, type CloseCode } from './close-codes.js'
import type { Connection, ConnectionInbound } from './connection.js'
import type { Hub } from './hub.js'
import { clearTokenTimers, frameBuffer, parseText, resetTokenTimers, REPEAT_MS, type DueSlot, type ParseError, type TokenTimerState } from './socket-support.js'
import { takeToken, type BucketState } from './token-bucket.js'
import type { SessionIndex } from './session-index.js'
import { subscription, type SubscribeOptions, type Subscription } from './subscription.js'

/** Inbound messages waiting behind a slow (database) step before the socket is closed (4029). */
export const MAX_QUEUE = 256

/** A socket family's numbers (named config variables; README "Socket limits"). */
export interface FamilyLimits {
  /** Largest inbound frame in bytes; larger closes with 1009. */
  maxMessageBytes: number
  /** Inbound messages (and pings) per second. */
  messagesPerSecond: number
  /** Bucket size: messages accepted at once after a quiet period. */
  burst: number
  /** Seconds a socket may stay unauthenticated (0: it is authenticated at admission). */
  authTimeoutSec: number
  /** Failed auths after which an unauthenticated socket is closed with 4003 (absent: never). */
  maxAuthFailures?: number
  /** Authenticated sockets at once on one resource (`serve`), e.g. consoles per server: 4009 past it. */
  maxPerResource?: number
}

export interface Family {
  /** Connection kind (metrics label, `wirehub_sockets_open{socket=…}`). */
  kind: string
  limits: FamilyLimits
}

/** What a protocol adapter tells the core. Everything but `message` is optional. */
export interface ProtocolAdapter {
  /** One parsed inbound message, in arrival order; may wait on I/O. */
  message(value: unknown): void | Promise<void>
  /** A frame that is not JSON, binary, or carries a forbidden key (nothing sent when absent). */
  refused?(error: ParseError): void
  /** The first dropped message of a flood episode (its frame; null for a ping or a batch item). */
  throttled?(frame: Buffer | null): void
  /** The token expires at `expSec`: repeated every 30 s until renewed. */
  expiring?(expSec: number): void
  /** The token expired: repeated every 30 s until renewed. */
  expired?(): void
  /** The user's access may have changed: re-evaluate in place, close only if it is gone. */
  recheck?(): void | Promise<void>
  /** The frame to send right before wirehub closes the socket (the family's error shape). */
  closing?(code: CloseCode, detail: string): string | null
  /** The socket closed (cleanup). */
  closed?(): void
}

export interface SessionDeps {
  hub: Hub
  index: SessionIndex
  log: FastifyBaseLogger
  /** Period of the `expiring`/`expired` repeats in ms (SOCKET_TOKEN_REPEAT; Wings: 30 s). */
  tokenRepeatMs?: number
}

export interface Grant {
  userId: number
  /** `k:<keyId>` or `s:<sessionId>` (revocation), or null. */
  cred: string | null
  /** Token times in seconds; timers run only when both are given. */
  iat?: number
  exp?: number
}

/** Options of a plain subscription, one object for every session. */
const NO_OPTIONS: SubscribeOptions = Object.freeze({})

/** The adapter a session has until `use` (drops messages). */
const NO_ADAPTER: ProtocolAdapter = Object.freeze({ message() {} })

export class Session<M = unknown> implements TokenTimerState, ConnectionInbound, BucketState {
  readonly conn: Connection<M>
  userId: number | null = null
  cred: string | null = null
  /** What the socket serves, for revocation by resource (`server:<uuid>`), or null. */
  resource: string | null = null
  state: 'pending' | 'authenticated' | 'expired' = 'pending'
  /** Set when the server asked the client to renew (warning, expiry, permission change). */
  renewalRequested = false
  private adapter: ProtocolAdapter = NO_ADAPTER
  /** The flood budget (token bucket) of messages and pings. */
  bucketTokens: number
  bucketLast: number
  /** The token timers' state (socket-support.ts). */
  timerSlot: DueSlot | null = null
  timerPhase: 'expiring' | 'expired' = 'expiring'
  timerExp = 0
  private authTimer: NodeJS.Timeout | null = null
  /** Messages waiting behind one that is being handled (null while none has had to wait). */
  private queue: unknown[] | null = null
  private childLog: FastifyBaseLogger | null = null
  private busy = false
  private droppedInARow = 0
  private disposed = false
  private authFailures = 0
  /**
   * While the token is expired, the hub subscriptions taken through `subscribe`, detached from
   * the hub until the renewing auth (delivery stops; clients recover from history). While it is
   * valid they are the connection's own list (`conn.subs`) and this is null.
   */
  private paused: Subscription[] | null = null

  constructor(
    ws: WebSocket,
    readonly family: Family,
    readonly ip: string,
    meta: M,
    private readonly deps: SessionDeps,
  ) {
    const l = family.limits
    this.conn = deps.hub.connect<M>(ws, family.kind, meta)
    this.bucketTokens = l.burst
    this.bucketLast = Date.now()
    // Set synchronously: a client may send its first message in the same tick as the upgrade.
    this.conn.inbound = this
    deps.index.add(this as Session)
    // A family without an auth deadline admits by what the handshake carried (Origin, address).
    if (l.authTimeoutSec === 0) this.conn.authenticated = true
    if (l.authTimeoutSec > 0) {
      this.authTimer = setTimeout(() => {
        if (this.state === 'pending') this.close(CLOSE.AUTH_TIMEOUT, `No successful auth within ${l.authTimeoutSec} seconds.`)
      }, l.authTimeoutSec * 1000)
      this.authTimer.unref()
    }
  }

  /** Period of the token timers' repeats (the family's deps; Wings: 30 s). */
  get tokenRepeatMs(): number {
    return this.deps.tokenRepeatMs ?? REPEAT_MS
  }

  /** The socket's logger, made on first use (most sockets never log; a child costs memory). */
  get log(): FastifyBaseLogger {
    return (this.childLog ??= this.deps.log.child({ connId: this.conn.id, socket: this.family.kind }))
  }

  tokenExpiring(expSec: number): void {
    this.renewalRequested = true
    this.adapter.expiring?.(expSec)
  }

  tokenExpired(): void {
    this.renewalRequested = true
    if (this.state !== 'expired') {
      this.state = 'expired'
      this.paused = this.conn.subs === null ? [] : [...this.conn.subs]
      for (const s of this.paused) this.deps.hub.unsubscribe(s)
    }
    this.adapter.expired?.()
  }

  /** The protocol adapter; set right after construction. */
  use(adapter: ProtocolAdapter): this {
    this.adapter = adapter
    return this
  }

  get closed(): boolean {
    return this.conn.closed
  }

  get expired(): boolean {
    return this.state === 'expired'
  }

  /**
   * A successful (re-)authentication: indexes the session, (re)starts its token timers and, after
   * an expiry, resumes its paused subscriptions. False when the first auth finds the resource
   * full (`maxPerResource`): the socket is then closed with 4009.
   */
  authenticated(grant: Grant): boolean {
    const max = this.family.limits.maxPerResource
    if (this.state === 'pending' && max !== undefined && this.resource !== null && this.deps.index.resourceCount(this.resource, this.family.kind) >= max) {
      this.close(CLOSE.TOO_MANY_CONNECTIONS)
      return false
    }
    if (this.authTimer) clearTimeout(this.authTimer)
    this.authTimer = null
    this.deps.index.bind(this as Session, grant.userId, grant.cred)
    this.state = 'authenticated'
    this.renewalRequested = false
    this.conn.authenticated = true
    this.conn.credential = grant.cred // the periodic credential sweep reads it
    const paused = this.paused
    this.paused = null
    if (paused !== null && !this.conn.closed) for (const s of paused) this.deps.hub.resubscribe(s)
    if (grant.iat !== undefined && grant.exp !== undefined) {
      resetTokenTimers(this, grant.iat, grant.exp)
    }
    return true
  }

  /**
   * A refused credential (metrics by family and reason). Send the family's answer first: past
   * `maxAuthFailures` on an unauthenticated socket this closes it (4003).
   */
  authFailed(reason: string): void {
    this.deps.index.stats.authFailure(this.family.kind, reason)
    const max = this.family.limits.maxAuthFailures
    if (max !== undefined && this.state === 'pending' && ++this.authFailures >= max) this.close(CLOSE.AUTH_FAILED, 'too many failed auth attempts')
  }

  /**
   * Asks the client to renew now (its access changed): the family's `expiring` is sent, and the
   * renewing auth is exempt from the family's auth throttle (`takeRenewal`).
   */
  requestRenewal(): void {
    this.renewalRequested = true
    this.adapter.expiring?.(this.timerExp)
  }

  /** True once after the server asked for a renewal (warning, expiry, access change). */
  takeRenewal(): boolean {
    const asked = this.renewalRequested
    this.renewalRequested = false
    return asked
  }

  /** A hub subscription the core pauses while the token is expired and drops at close. */
  subscribe(topic: string, opts: SubscribeOptions = NO_OPTIONS): Subscription {
    const s = subscription(this.conn as Connection, topic, opts)
    if (this.paused !== null) this.paused.push(s)
    else if (!this.conn.closed) this.deps.hub.resubscribe(s)
    return s
  }

  unsubscribe(s: Subscription): void {
    if (this.paused === null) return this.deps.hub.unsubscribe(s)
    const i = this.paused.indexOf(s)
    if (i >= 0) this.paused.splice(i, 1)
  }

  /** Sets the resource the session serves (indexed for `closeResource` / `recheckResource`). */
  serve(resource: string): void {
    this.deps.index.setResource(this as Session, resource)
  }

  send(text: string): boolean {
    return this.conn.sendText(text)
  }

  /** Closes with a documented code, after the family's closing frame; frees limits at once. */
  close(code: CloseCode, detail: string = code.reason): void {
    if (this.conn.closed) return
    const last = this.adapter.closing?.(code, detail)
    if (last) this.conn.sendText(last)
    this.conn.close(code, detail)
    this.dispose(code.code)
  }

  /** An unexpected error: logged, and the socket closed with 1011 (every family alike). */
  fail(err: unknown, context: string): void {
    this.log.error({ err }, context)
    this.close(CLOSE.INTERNAL, 'An unexpected error occurred; reconnect.')
  }

  /** Asks the adapter to re-evaluate the session's access in place. */
  recheck(): void {
    if (this.closed || !this.adapter.recheck) return
    try {
      const r = this.adapter.recheck()
      if (r) r.catch((err: unknown) => this.log.warn({ err }, 'socket access re-check failed'))
    } catch (err) {
      this.log.warn({ err }, 'socket access re-check failed')
    }
  }

  /** Takes one message from the flood budget; false when it must be dropped. */
  take(frame: Buffer | null = null): boolean {
    if (takeToken(this, this.family.limits.messagesPerSecond, this.family.limits.burst)) {
      this.droppedInARow = 0
      return true
    }
    this.droppedInARow++
    this.deps.index.stats.rateLimited(this.family.kind)
    if (this.droppedInARow > this.family.limits.messagesPerSecond) {
      this.close(CLOSE.RATE_LIMITED, `More than ${this.family.limits.messagesPerSecond} messages per second; closing.`)
    } else if (this.droppedInARow === 1) {
      this.adapter.throttled?.(frame)
    }
    return false
  }

  // ------------------------------------------------------------------ inbound pipeline

  /** An inbound frame (the connection hands it on). */
  frame(data: unknown, isBinary: boolean): void {
    if (this.conn.closed) return
    const buf = frameBuffer(data as Buffer)
    this.deps.index.stats.messageIn(this.family.kind)
    const max = this.family.limits.maxMessageBytes
    if (buf.length > max) return this.close(CLOSE.TOO_BIG, `message larger than ${max} bytes`)
    if (!this.take(buf)) return
    const parsed = parseText(buf, isBinary)
    if (!parsed.ok) return void this.adapter.refused?.(parsed.error as ParseError)
    if (!this.busy) return void this.pump(parsed.value)
    const queue = (this.queue ??= [])
    if (queue.length >= MAX_QUEUE) return this.close(CLOSE.RATE_LIMITED, 'Too many messages waiting to be processed.')
    queue.push(parsed.value)
  }

  /** Pings count against the same budget: a ping flood is cut off with 4029 like any flood. */
  ping(): void {
    if (this.conn.closed) return
    this.conn.alive = true
    this.take()
  }

  /** Handles `first`, then whatever arrived meanwhile, one at a time. */
  private async pump(first: unknown): Promise<void> {
    this.busy = true
    try {
      let r = this.adapter.message(first)
      if (r) await r
      while (this.queue !== null && this.queue.length > 0 && !this.conn.closed) {
        r = this.adapter.message(this.queue.shift())
        if (r) await r
      }
    } catch (err) {
      this.fail(err, `${this.family.kind} message handling failed`)
    } finally {
      this.busy = false
      // An idle socket keeps no queue (its backing store would stay allocated after shift()).
      this.queue = null
    }
  }

  /** The socket closed (the connection reports it once). */
  ended(code: number): void {
    this.dispose(code)
  }

  private dispose(code: number): void {
    if (this.disposed) return
    this.disposed = true
    if (this.authTimer) clearTimeout(this.authTimer)
    clearTokenTimers(this)
    this.paused = null
    this.queue = null
    this.deps.index.remove(this as Session, this.conn.closeCode ?? code)
    try {
      this.adapter.closed?.()
    } catch (err) {
      this.log.error({ err }, 'socket cleanup failed')
    }
  }
}
