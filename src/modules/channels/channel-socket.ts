/**
 * One channel socket (`/ws` and `/ws/<channel>`): the seed's protocol on top of the shared hub.
 *
 * Inbound frames are size-checked, rate-limited and parsed synchronously, then handled strictly
 * in order through a small queue (auth and subscribe wait on the database, and a client may send
 * `subscribe` right behind `auth` without waiting, as the seed's client does). Before auth only
 * `auth` and `ping` are served. Subscriptions are kept as specs; their hub subscriptions are
 * dropped when the token expires (delivery stops) and rebuilt on a renewing `auth`.
 */
import type { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import type { Hub } from '../realtime/hub.js'
import type { Connection } from '../realtime/connection.js'
import type { Subscription } from '../realtime/subscription.js'
import { CLOSE, type CloseCode } from '../realtime/close-codes.js'
import { parseFrame, TokenTimers } from '../realtime/socket-support.js'
import { TokenBucket } from '../realtime/token-bucket.js'
import type { SocketTokens } from '../auth/socket-tokens.js'
import type { DeviceDirectory } from '../devices/device-directory.js'
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

/** Seconds before expiry at which `token_expiring` is sent. */
export const TOKEN_WARN_SEC = 60
/** Failed auth attempts before an unauthenticated socket is closed (4003). */
export const MAX_AUTH_FAILURES = 5
/** Inbound messages waiting behind a slow (database) step before the socket is closed. */
const MAX_QUEUE = 256

export interface ChannelUser {
  id: number
  uuid: string
  rootAdmin: boolean
}

export interface ChannelDeps {
  hub: Hub
  tokens: SocketTokens
  directory: DeviceDirectory
  registry: ChannelRegistry
  system: SystemStatusPublisher
  log: FastifyBaseLogger
  isCredentialActive(cred: string): Promise<boolean>
  loadUser(id: number): Promise<ChannelUser | null>
  limits: { maxMessageBytes: number; messagesPerSecond: number; maxBatch: number; authTimeoutSec: number; systemIntervalSec: number }
  /** Cluster-wide connection slots (per user and in total), taken at the first successful auth. */
  slots: {
    acquire(userId: number, holder: string): Promise<Refusal | null>
    release(userId: number, holder: string): void
  }
}

interface Entry {
  spec: SubscriptionSpec
  deviceId: number | null
  sub: Subscription | null
}

export class ChannelSocket implements RegisteredSocket {
  userId: number | null = null
  cred: string | null = null
  private user: ChannelUser | null = null
  private state: 'pending' | 'authenticated' | 'expired' = 'pending'
  private readonly conn: Connection<{ userId: number | null }>
  private readonly entries = new Map<string, Entry>()
  private readonly bucket: TokenBucket
  private readonly timers: TokenTimers
  private readonly authTimer: NodeJS.Timeout
  private readonly queue: unknown[] = []
  private busy = false
  private authFailures = 0
  /** The user whose cluster-wide connection slot this socket holds, once taken. */
  private slotUser: number | null = null

  private get slotHolder(): string {
    return `channels:${this.conn.id}`
  }
  private dropped = 0
  private lastRateNotice = 0
  private expiresAt = 0
  private disposed = false

  constructor(
    ws: WebSocket,
    private readonly deps: ChannelDeps,
    /** The channel this route is restricted to (null: `/ws`, any channel). */
    private readonly only: ChannelName | null,
    ip: string,
  ) {
    const l = deps.limits
    this.conn = deps.hub.connect(ws, 'channels', { userId: null })
    this.conn.collapsedNotice = (count) =>
      JSON.stringify({ type: 'collapsed', count, message: `${count} telemetry/system updates were replaced by newer ones while this socket was behind.` })
    this.bucket = new TokenBucket(l.messagesPerSecond, l.messagesPerSecond)
    this.timers = new TokenTimers(TOKEN_WARN_SEC, () => this.expiring(), () => this.expired())
    this.authTimer = setTimeout(() => {
      if (this.state === 'pending') this.closeWith(CLOSE.AUTH_TIMEOUT, 'auth_timeout', `No successful auth within ${l.authTimeoutSec} seconds.`)
    }, l.authTimeoutSec * 1000)
    this.authTimer.unref()
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary))
    ws.once('close', () => this.dispose())
    const refusal = deps.registry.admit(this, ip)
    if (refusal) this.closeWith(refusal.code, refusal.error, refusal.message)
  }

  closeWith(code: CloseCode, errorCode: string, message: string): void {
    if (this.conn.closed) return
    this.conn.sendText(JSON.stringify({ type: 'error', code: errorCode, message }))
    this.close(code, message)
  }

  /** Closes and frees the socket's slot at once (limits must not wait for the closing handshake). */
  private close(code: CloseCode, reason?: string): void {
    this.conn.close(code, reason)
    this.dispose()
  }

  // ------------------------------------------------------------------ inbound

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.conn.closed) return
    this.conn.counters.messagesIn++
    const parsed = parseFrame(data, isBinary, this.deps.limits.maxMessageBytes)
    if (!parsed.ok && parsed.error === 'too_large') {
      this.close(CLOSE.TOO_BIG, `message larger than ${this.deps.limits.maxMessageBytes} bytes`)
      return
    }
    if (!this.take()) return
    if (!parsed.ok) {
      const code: ErrorCode = parsed.error === 'binary' ? 'binary_not_supported' : parsed.error === 'forbidden_key' ? 'forbidden_key' : 'invalid_json'
      this.error(code)
      return
    }
    if (this.queue.length >= MAX_QUEUE) {
      this.closeWith(CLOSE.RATE_LIMITED, 'rate_limited', 'Too many messages waiting to be processed.')
      return
    }
    this.queue.push(parsed.value)
    if (!this.busy) void this.pump()
  }

  /** One token per message; a client that keeps flooding past a second's worth is closed. */
  private take(): boolean {
    if (this.bucket.take()) {
      this.dropped = 0
      return true
    }
    this.dropped++
    if (this.dropped > this.deps.limits.messagesPerSecond) {
      this.closeWith(CLOSE.RATE_LIMITED, 'rate_limited', `More than ${this.deps.limits.messagesPerSecond} messages per second; closing.`)
      return false
    }
    const now = Date.now()
    if (now - this.lastRateNotice >= 1000) {
      this.lastRateNotice = now
      this.error('rate_limited', `At most ${this.deps.limits.messagesPerSecond} messages per second; messages are being dropped.`)
    }
    return false
  }

  private async pump(): Promise<void> {
    this.busy = true
    try {
      while (this.queue.length > 0 && !this.conn.closed) {
        const r = this.dispatch(this.queue.shift(), false)
        if (r) await r
      }
    } catch (err) {
      this.deps.log.error({ err, connId: this.conn.id }, 'channel message handling failed')
      this.closeWith(CLOSE.INTERNAL, 'internal_error', 'An unexpected error occurred; reconnect.')
    } finally {
      this.busy = false
    }
  }

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
    if (this.state === 'pending') return this.error('not_authenticated')
    if (this.state === 'expired') return this.error('token_expired')
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
    for (let i = 0; i < messages.length && !this.conn.closed; i++) {
      // Items after the first count against the message rate too.
      if (i > 0 && !this.bucket.take()) return this.error('rate_limited', `Message rate exceeded at batch item ${i}; the rest of the batch was dropped.`)
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
      return this.authFailed(error, message)
    }
    const claims = v.claims
    if (this.user && this.user.id !== claims.user_id) return this.authFailed('invalid_token', 'The token belongs to another user than this socket.')
    const [active, user] = await Promise.all([this.deps.isCredentialActive(claims.cred), this.deps.loadUser(claims.user_id)])
    if (this.conn.closed) return
    if (!active || !user || user.uuid !== claims.user_uuid) return this.authFailed('invalid_token', 'The credential behind this token was revoked.')
    if (this.state === 'pending') {
      const refusal = this.deps.registry.checkUser(user.id) ?? (await this.deps.slots.acquire(user.id, this.slotHolder))
      if (refusal) {
        this.send({ type: 'auth_response', success: false, error: refusal.error, message: refusal.message })
        return this.closeWith(refusal.code, refusal.error, refusal.message)
      }
      this.slotUser = user.id
      if (this.disposed) this.deps.slots.release(user.id, this.slotHolder)
      clearTimeout(this.authTimer)
    }
    const prevCred = this.cred
    this.user = user
    this.userId = user.id
    this.cred = claims.cred
    this.conn.credential = claims.cred
    this.conn.meta = { userId: user.id }
    this.deps.registry.bind(this, user.id, claims.cred, prevCred)
    this.expiresAt = claims.exp
    this.timers.reset(claims.exp)
    const resumed = this.state === 'expired'
    this.state = 'authenticated'
    this.send({ type: 'auth_response', success: true, expires_at: new Date(claims.exp * 1000).toISOString() })
    if (resumed) for (const e of this.entries.values()) this.attach(e)
  }

  private authFailed(error: 'invalid_token' | 'token_expired', message: string): void {
    this.send({ type: 'auth_response', success: false, error, message })
    if (this.state === 'pending' && ++this.authFailures >= MAX_AUTH_FAILURES) {
      this.close(CLOSE.AUTH_FAILED, 'too many failed auth attempts')
    }
  }

  private expiring(): void {
    this.send({
      type: 'token_expiring',
      expires_at: new Date(this.expiresAt * 1000).toISOString(),
      message: 'The token expires soon; send a new auth message with a fresh token.',
    })
  }

  private expired(): void {
    if (this.state !== 'authenticated') return
    this.state = 'expired'
    for (const e of this.entries.values()) this.detach(e)
    this.error('token_expired', 'The token expired: delivery is paused until a new auth message.')
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
        if (this.conn.closed) return
        if (!info || (!this.user!.rootAdmin && info.ownerId !== this.user!.id)) {
          return this.error('device_not_found', `Device ${id} does not exist or does not belong to you.`)
        }
      }
    }
    if (this.state !== 'authenticated') return this.error('token_expired')
    const keys = ids ? ids.map((id) => `${spec.channel}|${id}`) : [`${spec.channel}|*`]
    const added = keys.filter((k) => !this.entries.has(k)).length
    if (this.entries.size + added > MAX_SUBSCRIPTIONS) {
      return this.error('too_many_subscriptions', `A socket holds at most ${MAX_SUBSCRIPTIONS} subscriptions (one per channel and device).`)
    }
    keys.forEach((key, i) => {
      const old = this.entries.get(key)
      if (old) this.detach(old)
      const e: Entry = { spec, deviceId: ids ? ids[i]! : null, sub: null }
      this.entries.set(key, e)
      this.attach(e)
    })
    const device_id = ids ? (ids.length === 1 && !Array.isArray(msg.filters?.device_id ?? msg.device_id) ? ids[0] : ids) : null
    this.send({ type: 'subscribed', channel: spec.channel, device_id, filters: this.echo(spec) })
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
      opts.variant = spec.metrics?.join(',') ?? ''
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

  private dispose(): void {
    if (this.disposed) return
    this.disposed = true
    clearTimeout(this.authTimer)
    this.timers.clear()
    this.entries.clear()
    this.queue.length = 0
    this.deps.registry.remove(this)
    if (this.slotUser !== null) this.deps.slots.release(this.slotUser, this.slotHolder)
  }
}
