/**
 * The channel socket protocol (`/ws` and `/ws/<channel>`, the seed's format): a protocol adapter
 * on the socket session core (realtime/session.ts), which owns the auth deadline
 * (CHANNEL_AUTH_TIMEOUT, 4001), token timers, size (WS_MAX_MESSAGE_BYTES, 1009), the flood
 * budget (WS_MESSAGES_PER_SECOND, answered with error `rate_limited`), ordered handling and
 * internal errors (1011). Before auth only `auth` and `ping` are served. Subscriptions are kept
 * as specs; their hub subscriptions are dropped when the token expires (delivery stops) and
 * rebuilt on a renewing `auth`. A changed user (demoted administrator) is re-evaluated in place:
 * its subscriptions move to what it may still see.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Hub } from '../realtime/hub.js'
import type { Connection } from '../realtime/connection.js'
import type { Subscription } from '../realtime/subscription.js'
import { CLOSE, type CloseCode } from '../realtime/close-codes.js'
import type { ProtocolAdapter, Session } from '../realtime/session.js'
import type { ParseError } from '../realtime/socket-support.js'
import type { SocketTokens } from '../auth/socket-tokens.js'
import type { DeviceDirectory } from '../devices/device-directory.js'
import { Seam, type TelemetryStream } from '../devices/telemetry.stream.js'
import type { SystemStatusPublisher } from '../system/system-status.js'
import type { ChannelRegistry, RegisteredSocket, Refusal } from './channels.registry.js'
import {
  ERROR_CODES,
  MAX_SUBSCRIPTIONS,
  checkMessage,
  normalizeSubscribe,
  unsubscribeTargets,
  type AuthMessage,
  type ErrorCode,
  type InboundMessage,
  type SubscribeMessage,
  type SubscriptionSpec,
  type UnsubscribeMessage,
} from './channels.protocol.js'
import { CHANNELS, allTopic, deviceTopic, ownerTopic, systemTopic, type ChannelName } from './channels.topics.js'

/** Failed auth attempts before an unauthenticated socket is closed (4003). */
export const MAX_AUTH_FAILURES = 5

export interface ChannelUser {
  id: number
  uuid: string
  rootAdmin: boolean
}

export interface ChannelDeps {
  hub: Hub
  tokens: SocketTokens
  directory: DeviceDirectory
  /** History-then-live telemetry (subscribe `history` / `snapshot`). */
  stream: TelemetryStream
  registry: ChannelRegistry
  system: SystemStatusPublisher
  log: FastifyBaseLogger
  isCredentialActive(cred: string): Promise<boolean>
  /** `fresh`: bypass the short user cache (re-evaluation after a change). */
  loadUser(id: number, fresh?: boolean): Promise<ChannelUser | null>
  limits: { maxBatch: number; systemIntervalSec: number }
  /** Cluster-wide connection slots (per user and in total), taken at the first successful auth. */
  slots: {
    acquire(userId: number, holder: string): Promise<Refusal | null>
    release(userId: number, holder: string): void
  }
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

interface Entry {
  spec: SubscriptionSpec
  deviceId: number | null
  sub: Subscription | null
  /** Set when the subscribe asked for history or a snapshot: holds live updates until it is sent. */
  seam?: Seam
}

export class ChannelSocket implements RegisteredSocket, ProtocolAdapter {
  private user: ChannelUser | null = null
  private readonly conn: Connection
  private readonly entries = new Map<string, Entry>()
  private authFailures = 0
  /** The user whose cluster-wide connection slot this socket holds, once taken. */
  private slotUser: number | null = null
  private expiresAt = 0

  constructor(
    private readonly session: Session<{ userId: number | null }>,
    private readonly deps: ChannelDeps,
    /** The channel this route is restricted to (null: `/ws`, any channel). */
    private readonly only: ChannelName | null,
  ) {
    this.conn = session.conn as Connection
    this.conn.collapsedNotice = collapsedNotice
    session.use(this)
    const refusal = deps.registry.admit(session.ip)
    if (refusal) this.closeWith(refusal.code, refusal.error, refusal.message)
  }

  get userId(): number | null {
    return this.slotUser
  }

  get cred(): string | null {
    return this.session.cred
  }

  private get slotHolder(): string {
    return `channels:${this.conn.id}`
  }

  closeWith(code: CloseCode, errorCode: string, message: string): void {
    if (this.session.closed) return
    this.send({ type: 'error', code: errorCode, message })
    this.session.close(code, message)
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
    for (const e of this.entries.values()) this.detach(e)
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
    for (const [key, e] of [...this.entries]) {
      this.detach(e)
      if (e.deviceId !== null && !user.rootAdmin) {
        const info = await this.deps.directory.get(e.deviceId)
        if (this.session.closed) return
        if (!info || info.ownerId !== user.id) {
          this.entries.delete(key)
          this.error('device_not_found', `Device ${e.deviceId} does not belong to you; its ${e.spec.channel} subscription was removed.`)
          continue
        }
      }
      if (this.session.state === 'authenticated') this.attach(e)
    }
  }

  closed(): void {
    this.entries.clear()
    this.deps.registry.remove(this)
    if (this.slotUser !== null) this.deps.slots.release(this.slotUser, this.slotHolder)
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
        return this.subscribe(msg)
      case 'unsubscribe':
        return this.unsubscribe(msg)
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
    const first = this.session.state === 'pending'
    if (first) {
      const refusal = this.deps.registry.checkUser(user.id) ?? (await this.deps.slots.acquire(user.id, this.slotHolder))
      if (refusal) {
        this.send({ type: 'auth_response', success: false, error: refusal.error, message: refusal.message })
        return this.closeWith(refusal.code, refusal.error, refusal.message)
      }
      this.slotUser = user.id
      if (this.session.closed) return this.deps.slots.release(user.id, this.slotHolder)
      this.deps.registry.bind(this, user.id, claims.cred, null)
    }
    const resumed = this.session.expired
    this.user = user
    this.session.conn.meta = { userId: user.id }
    this.session.authenticated({ userId: user.id, cred: claims.cred, iat: claims.iat, exp: claims.exp })
    this.expiresAt = claims.exp
    this.send({ type: 'auth_response', success: true, expires_at: new Date(claims.exp * 1000).toISOString() })
    if (resumed) for (const e of this.entries.values()) this.attach(e)
  }

  private authFailed(error: 'invalid_token' | 'token_expired', message: string, reason: string): void {
    this.session.authFailed(reason)
    this.send({ type: 'auth_response', success: false, error, message })
    if (this.session.state === 'pending' && ++this.authFailures >= MAX_AUTH_FAILURES) {
      this.session.close(CLOSE.AUTH_FAILED, 'too many failed auth attempts')
    }
  }

  // ------------------------------------------------------------------ subscriptions

  private async subscribe(msg: SubscribeMessage): Promise<void> {
    const n = normalizeSubscribe(msg, this.deps.limits.systemIntervalSec * 1000)
    if (!n.ok) return this.error(n.code, n.message)
    const spec = n.spec
    if (this.only && spec.channel !== this.only) {
      return this.error('channel_not_allowed', `This socket serves the ${this.only} channel only; use /ws for ${spec.channel}.`)
    }
    const ids = spec.deviceIds
    if (ids) {
      for (const id of ids) {
        const info = await this.deps.directory.get(id)
        if (this.session.closed) return
        if (!info || (!this.user!.rootAdmin && info.ownerId !== this.user!.id)) {
          return this.error('device_not_found', `Device ${id} does not exist or does not belong to you.`)
        }
      }
    }
    if (this.session.state !== 'authenticated') return this.error('token_expired')
    const keys = ids ? ids.map((id) => `${spec.channel}|${id}`) : [`${spec.channel}|*`]
    const added = keys.filter((k) => !this.entries.has(k)).length
    if (this.entries.size + added > MAX_SUBSCRIPTIONS) {
      return this.error('too_many_subscriptions', `A socket holds at most ${MAX_SUBSCRIPTIONS} subscriptions (one per channel and device).`)
    }
    keys.forEach((key, i) => {
      const old = this.entries.get(key)
      if (old) this.detach(old)
      const e: Entry = { spec, deviceId: ids ? ids[i]! : null, sub: null }
      if (spec.history || spec.snapshot) e.seam = new Seam()
      this.entries.set(key, e)
      this.attach(e)
    })
    const device_id = ids ? (ids.length === 1 && !Array.isArray(msg.filters?.device_id ?? msg.device_id) ? ids[0] : ids) : null
    this.send({ type: 'subscribed', channel: spec.channel, device_id, filters: this.echo(spec) })
    for (const key of keys) {
      const e = this.entries.get(key)
      if (e?.seam && e.deviceId !== null) {
        await this.deps.stream.deliver({ conn: this.conn as Connection, deviceId: e.deviceId, seam: e.seam, start: spec.history, snapshot: spec.snapshot, metrics: spec.metrics })
      }
    }
  }

  private unsubscribe(msg: UnsubscribeMessage): void {
    if (!(CHANNELS as readonly string[]).includes(msg.channel)) {
      return this.error('unknown_channel', `Unknown channel "${msg.channel}"; expected ${CHANNELS.join(', ')}.`)
    }
    const ids = unsubscribeTargets(msg)
    let removed = 0
    for (const [key, e] of this.entries) {
      if (e.spec.channel !== msg.channel) continue
      if (ids && (e.deviceId === null || !ids.includes(e.deviceId))) continue
      this.detach(e)
      this.entries.delete(key)
      removed++
    }
    this.send({ type: 'unsubscribed', channel: msg.channel, device_id: ids ? (ids.length === 1 ? ids[0] : ids) : null, removed })
  }

  private echo(spec: SubscriptionSpec): Record<string, unknown> {
    const f: Record<string, unknown> = {}
    if (spec.metrics) f.metrics = spec.metrics
    if (spec.severity) f.severity = spec.severity
    if (spec.alertTypes) f.alert_type = spec.alertTypes
    if (spec.statusTypes) f.status_types = spec.statusTypes
    if (spec.channel === 'telemetry') f.frequency = spec.frequency ?? 'real-time'
    if (spec.channel === 'system') f.frequency = spec.frequency ?? `${spec.intervalMs / 1000}s`
    return f
  }

  /** Creates the hub subscription of one entry (compiled filter, variant, interval). */
  private attach(e: Entry): void {
    const spec = e.spec
    const user = this.user!
    const hub = this.deps.hub
    if (spec.channel === 'system') {
      e.sub = hub.subscribe(this.conn as Connection, systemTopic(spec.intervalMs), { variant: spec.metrics?.join(',') ?? '', tag: 'system' })
      this.deps.system.ensure(spec.intervalMs)
      return
    }
    const ch = spec.channel
    const topic = e.deviceId !== null ? deviceTopic(ch, e.deviceId) : user.rootAdmin ? allTopic(ch) : ownerTopic(ch, user.id)
    const opts: Parameters<Hub['subscribe']>[2] = { tag: `${ch}|${e.deviceId ?? '*'}` }
    if (ch === 'telemetry') {
      opts.variant = e.seam ? this.deps.stream.variant(spec.metrics) : (spec.metrics?.join(',') ?? '')
      if (e.seam) opts.filter = e.seam.filter
      opts.minIntervalMs = spec.intervalMs
    } else if (ch === 'alerts' && (spec.severity || spec.alertTypes)) {
      const sev = spec.severity ? new Set(spec.severity) : null
      const types = spec.alertTypes ? new Set(spec.alertTypes) : null
      opts.filter = (p) => {
        const a = p as { severity: string; alert_type: string }
        return (!sev || sev.has(a.severity)) && (!types || types.has(a.alert_type))
      }
    } else if (ch === 'devices' && spec.statusTypes) {
      const st = new Set(spec.statusTypes)
      opts.filter = (p) => st.has((p as { new_status: string }).new_status)
    }
    e.sub = hub.subscribe(this.conn as Connection, topic, opts)
  }

  private detach(e: Entry): void {
    if (e.sub) this.deps.hub.unsubscribe(e.sub)
    e.sub = null
  }

  // ------------------------------------------------------------------ outbound

  private send(msg: Record<string, unknown>): void {
    this.conn.sendText(JSON.stringify(msg))
  }

  private error(code: ErrorCode, message: string = ERROR_CODES[code]): void {
    this.send({ type: 'error', code, message })
  }
}
