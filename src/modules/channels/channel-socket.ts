/**
 * The channel socket protocol (`/ws` and `/ws/<channel>`, the seed's format): a protocol adapter
 * on the socket session core (realtime/session.ts), which owns the auth deadline
 * (CHANNEL_AUTH_TIMEOUT, 4001), failed auths (4003 after MAX_AUTH_FAILURES), token timers,
 * pausing delivery while the token is expired, size (WS_MAX_MESSAGE_BYTES, 1009), the flood
 * budget (WS_MESSAGES_PER_SECOND, answered with error `rate_limited`), ordered handling,
 * internal errors (1011) and the counts behind the connection limits. Before auth only `auth`
 * and `ping` are served; subscriptions live in channel-subscriptions.ts. A changed user (demoted
 * administrator) is re-evaluated in place: its subscriptions move to what it may still see.
 */
import type { FastifyBaseLogger } from 'fastify'
import { CLOSE, type CloseCode } from '../realtime/close-codes.js'
import type { ProtocolAdapter, Session } from '../realtime/session.js'
import type { ParseError } from '../realtime/socket-support.js'
import type { SocketTokens } from '../auth/socket-tokens.js'
import type { ChannelRegistry, Refusal } from './channels.registry.js'
import { ERROR_CODES, checkMessage, type AuthMessage, type ErrorCode, type InboundMessage } from './channels.protocol.js'
import { ChannelSubscriptions, type ChannelUser, type SubscriptionDeps } from './channel-subscriptions.js'
import type { ChannelName } from './channels.topics.js'
import type { ChannelReply } from './channels.replies.js'

export type { ChannelUser } from './channel-subscriptions.js'

/** Failed auth attempts before an unauthenticated socket is closed (4003). */
export const MAX_AUTH_FAILURES = 5

export interface ChannelDeps extends SubscriptionDeps {
  tokens: SocketTokens
  registry: ChannelRegistry
  log: FastifyBaseLogger
  isCredentialActive(cred: string): Promise<boolean>
  /** `fresh`: bypass the short user cache (re-evaluation after a change). */
  loadUser(id: number, fresh?: boolean): Promise<ChannelUser | null>
  limits: { maxBatch: number; systemIntervalSec: number }
  /**
   * Cluster-wide connection slots (per user and in total), taken at the first successful auth;
   * null on a single instance, where the registry's own counts are the whole picture.
   */
  slots: {
    acquire(userId: number, holder: string): Promise<Refusal | null>
    release(userId: number, holder: string): void
  } | null
}

/** The `{"type":"error"}` code sent right before wirehub closes a channel socket with `code`. */
const CLOSING_ERRORS: Partial<Record<number, string>> = {
  [CLOSE.AUTH_TIMEOUT.code]: 'auth_timeout',
  [CLOSE.RATE_LIMITED.code]: 'rate_limited',
  [CLOSE.TOO_MANY_CONNECTIONS.code]: 'too_many_connections',
  [CLOSE.REVOKED.code]: 'revoked',
  [CLOSE.INTERNAL.code]: 'internal_error',
}

/** Sent after telemetry/system samples were collapsed (one function for every socket). */
function collapsedNotice(count: number): string {
  return JSON.stringify({ type: 'collapsed', count, message: `${count} telemetry/system updates were replaced by newer ones while this socket was behind.` })
}

export class ChannelSocket implements ProtocolAdapter {
  private user: ChannelUser | null = null
  private readonly subs: ChannelSubscriptions
  /** The user whose cluster-wide connection slot this socket holds, once taken. */
  private slotUser: number | null = null

  constructor(
    private readonly session: Session<null>,
    private readonly deps: ChannelDeps,
    only: ChannelName | null,
  ) {
    this.subs = new ChannelSubscriptions(session, deps, only, this)
    session.conn.collapsedNotice = collapsedNotice
    session.use(this)
    const refusal = deps.registry.admit(session.ip)
    if (refusal) session.close(refusal.code, refusal.message)
  }

  private get slotHolder(): string {
    return `channels:${this.session.conn.id}`
  }

  // ------------------------------------------------------------------ the adapter

  closing(code: CloseCode, detail: string): string | null {
    const error = CLOSING_ERRORS[code.code]
    return error ? JSON.stringify({ type: 'error', code: error, message: detail }) : null
  }

  refused(error: ParseError): void {
    this.error(error === 'binary' ? 'binary_not_supported' : error)
  }

  throttled(): void {
    this.error('rate_limited', `At most ${this.session.family.limits.messagesPerSecond} messages per second; messages are being dropped.`)
  }

  message(value: unknown): Promise<void> | void {
    return this.dispatch(value, false)
  }

  expiring(exp: number): void {
    this.send({ type: 'token_expiring', expires_at: new Date(exp * 1000).toISOString(), message: 'The token expires soon; send a new auth message with a fresh token.' })
  }

  expired(): void {
    this.error('token_expired', 'The token expired: delivery is paused until a new auth message.')
  }

  /** The user changed: a demoted administrator keeps only what it may still see. */
  async recheck(): Promise<void> {
    if (!this.user) return
    const user = await this.deps.loadUser(this.user.id, true)
    if (this.session.closed) return
    if (!user) return this.session.close(CLOSE.REVOKED, 'The account behind this socket was deleted.')
    if (user.rootAdmin === this.user.rootAdmin) return
    this.user = user
    await this.subs.regrant(user)
  }

  closed(): void {
    this.subs.clear()
    if (this.slotUser !== null) this.deps.slots?.release(this.slotUser, this.slotHolder)
  }

  // ------------------------------------------------------------------ inbound

  /** Handles one message; returns a promise only when the step waits on I/O. */
  private dispatch(value: unknown, inBatch: boolean): Promise<void> | void {
    const checked = checkMessage(value)
    if (!checked.ok) return this.error(checked.code, checked.message)
    const msg: InboundMessage = checked.msg
    if (msg.type === 'ping') {
      this.send({ type: 'pong', timestamp: msg.timestamp ?? null, server_timestamp: new Date().toISOString() })
      return
    }
    if (msg.type === 'auth') return this.auth(msg)
    if (this.session.state === 'pending') return this.error('not_authenticated')
    if (this.session.expired) return this.error('token_expired')
    switch (msg.type) {
      case 'subscribe':
        return this.subs.subscribe(msg, () => this.user!)
      case 'unsubscribe':
        return this.subs.unsubscribe(msg)
      case 'batch':
        if (inBatch) return this.error('nested_batch')
        return this.batch(msg.messages)
    }
  }

  private async batch(messages: unknown[]): Promise<void> {
    const max = this.deps.limits.maxBatch
    if (messages.length > max) return this.error('batch_too_large', `A batch holds at most ${max} messages; this one has ${messages.length}. Nothing was processed.`)
    for (let i = 0; i < messages.length && !this.session.closed; i++) {
      // Items after the first count against the message rate too.
      if (i > 0 && !this.session.take()) return this.error('rate_limited', `Message rate exceeded at batch item ${i}; the rest of the batch was dropped.`)
      const r = this.dispatch(messages[i], true)
      if (r) await r
    }
  }

  // ------------------------------------------------------------------ auth

  private async auth(msg: AuthMessage): Promise<void> {
    const v = this.deps.tokens.verify(msg.token, 'channels')
    if (!v.ok) {
      const error = v.reason === 'token_expired' ? 'token_expired' : 'invalid_token'
      const message = v.reason === 'token_expired' ? 'The token has expired; request a new one from /api/client/websocket.' : 'The token is invalid for channel sockets.'
      return this.authFailed(error, message, v.reason)
    }
    const claims = v.claims
    if (this.user && this.user.id !== claims.user_id) return this.authFailed('invalid_token', 'The token belongs to another user than this socket.', 'other_user')
    const [active, user] = await Promise.all([this.deps.isCredentialActive(claims.cred), this.deps.loadUser(claims.user_id)])
    if (this.session.closed) return
    if (!active || !user || user.uuid !== claims.user_uuid) return this.authFailed('invalid_token', 'The credential behind this token was revoked.', 'revoked')
    if (this.session.state === 'pending') {
      // Without cluster slots the local check and the binding below happen in one turn.
      const slots = this.deps.slots
      const refusal = this.deps.registry.checkUser(user.id) ?? (slots ? await slots.acquire(user.id, this.slotHolder) : null)
      if (refusal) {
        this.send({ type: 'auth_response', success: false, error: refusal.error, message: refusal.message })
        return this.session.close(refusal.code, refusal.message)
      }
      if (slots) {
        this.slotUser = user.id
        if (this.session.closed) return slots.release(user.id, this.slotHolder)
      }
    }
    this.user = user
    // Counts the socket for the connection limits; after an expiry it resumes delivery.
    this.session.authenticated({ userId: user.id, cred: claims.cred, iat: claims.iat, exp: claims.exp })
    this.send({ type: 'auth_response', success: true, expires_at: new Date(claims.exp * 1000).toISOString() })
  }

  /** Answers a refused auth; the core closes an unauthenticated socket after MAX_AUTH_FAILURES. */
  private authFailed(error: 'invalid_token' | 'token_expired', message: string, reason: string): void {
    this.send({ type: 'auth_response', success: false, error, message })
    this.session.authFailed(reason)
  }

  // ------------------------------------------------------------------ outbound (also for the subscriptions)

  send(msg: ChannelReply): void {
    this.session.send(JSON.stringify(msg))
  }

  error(code: ErrorCode, message: string = ERROR_CODES[code]): void {
    this.send({ type: 'error', code, message })
  }
}
