/**
 * A channel socket's subscriptions: `subscribe` / `unsubscribe` messages turned into hub
 * subscriptions (one per channel and device, with the subscriber's compiled filter, variant and
 * interval), their acknowledgements, history-then-live delivery, and the re-evaluation after
 * the user changed (a demoted administrator keeps only what it may still see). They are session
 * subscriptions: the core pauses them while the token is expired and resumes them on renewal.
 */
import type { Connection } from '../realtime/connection.js'
import type { Session } from '../realtime/session.js'
import type { SubscribeOptions, Subscription } from '../realtime/subscription.js'
import type { DeviceDirectory } from '../devices/device-directory.js'
import { Seam, type TelemetryStream } from '../devices/telemetry.stream.js'
import type { SystemStatusPublisher } from '../system/system-status.js'
import {
  MAX_SUBSCRIPTIONS,
  normalizeSubscribe,
  unsubscribeTargets,
  type ErrorCode,
  type SubscribeMessage,
  type SubscriptionSpec,
  type UnsubscribeMessage,
} from './channels.protocol.js'
import { CHANNELS, allTopic, deviceTopic, ownerTopic, systemTopic, type ChannelName } from './channels.topics.js'
import type { ChannelReply } from './channels.replies.js'

export interface ChannelUser {
  id: number
  uuid: string
  rootAdmin: boolean
}

export interface SubscriptionDeps {
  directory: DeviceDirectory
  /** History-then-live telemetry (subscribe `history` / `snapshot`). */
  stream: TelemetryStream
  system: SystemStatusPublisher
  limits: { systemIntervalSec: number }
}

interface Entry {
  spec: SubscriptionSpec
  deviceId: number | null
  sub: Subscription | null
  /** Set when the subscribe asked for history or a snapshot: holds live updates until it is sent. */
  seam?: Seam
}

/** Where acknowledgements and errors go (the channel socket, in its shapes). */
export interface ChannelReplies {
  send(msg: ChannelReply): void
  error(code: ErrorCode, message?: string): void
}

export class ChannelSubscriptions {
  /**
   * One per channel and device (`deviceId` null: the whole channel), in subscription order. An
   * array, not a map keyed by channel and device: most sockets hold one, and a map's table is
   * the larger part of an idle socket's subscription state.
   */
  private entries: Entry[] = []

  constructor(
    private readonly session: Session<null>,
    private readonly deps: SubscriptionDeps,
    /** The channel this route is restricted to (null: `/ws`, any channel). */
    private readonly only: ChannelName | null,
    private readonly out: ChannelReplies,
  ) {}

  /** `user` is read after each wait: a re-evaluation may change it meanwhile. */
  async subscribe(msg: SubscribeMessage, user: () => ChannelUser): Promise<void> {
    const n = normalizeSubscribe(msg, this.deps.limits.systemIntervalSec * 1000)
    if (!n.ok) return this.out.error(n.code, n.message)
    const spec = n.spec
    if (this.only && spec.channel !== this.only) {
      return this.out.error('channel_not_allowed', `This socket serves the ${this.only} channel only; use /ws for ${spec.channel}.`)
    }
    const ids = spec.deviceIds
    if (ids) {
      for (const id of ids) {
        const info = await this.deps.directory.get(id)
        if (this.session.closed) return
        if (!info || (!user().rootAdmin && info.ownerId !== user().id)) {
          return this.out.error('device_not_found', `Device ${id} does not exist or does not belong to you.`)
        }
      }
    }
    if (this.session.state !== 'authenticated') return this.out.error('token_expired')
    const targets: Array<number | null> = ids ?? [null]
    const added = targets.filter((id) => this.indexOf(spec.channel, id) < 0).length
    if (this.entries.length + added > MAX_SUBSCRIPTIONS) {
      return this.out.error('too_many_subscriptions', `A socket holds at most ${MAX_SUBSCRIPTIONS} subscriptions (one per channel and device).`)
    }
    for (const deviceId of targets) {
      const e: Entry = { spec, deviceId, sub: null }
      if (spec.history || spec.snapshot) e.seam = new Seam()
      const at = this.indexOf(spec.channel, deviceId)
      if (at >= 0) {
        this.detach(this.entries[at]!)
        this.entries[at] = e
      } else if (this.entries.length === 0) {
        this.entries = [e] // sized to what it holds (a push onto an empty array reserves 17)
      } else {
        this.entries.push(e)
      }
      this.attach(e, user())
    }
    const device_id = ids ? (ids.length === 1 && !Array.isArray(msg.filters?.device_id ?? msg.device_id) ? ids[0]! : ids) : null
    this.out.send({ type: 'subscribed', channel: spec.channel, device_id, filters: echo(spec) })
    for (const deviceId of targets) {
      const e = this.entries[this.indexOf(spec.channel, deviceId)]
      if (e?.seam && e.deviceId !== null) {
        await this.deps.stream.deliver({ conn: this.session.conn as Connection, deviceId: e.deviceId, seam: e.seam, start: spec.history, snapshot: spec.snapshot, metrics: spec.metrics })
      }
    }
  }

  unsubscribe(msg: UnsubscribeMessage): void {
    if (!(CHANNELS as readonly string[]).includes(msg.channel)) {
      return this.out.error('unknown_channel', `Unknown channel "${msg.channel}"; expected ${CHANNELS.join(', ')}.`)
    }
    const ids = unsubscribeTargets(msg)
    const kept = this.entries.filter((e) => {
      if (e.spec.channel !== msg.channel) return true
      if (ids && (e.deviceId === null || !ids.includes(e.deviceId))) return true
      this.detach(e)
      return false
    })
    const removed = this.entries.length - kept.length
    this.entries = kept
    this.out.send({ type: 'unsubscribed', channel: msg.channel, device_id: ids ? (ids.length === 1 ? ids[0]! : ids) : null, removed })
  }

  /** The user changed: every subscription moves to what `user` may still see. */
  async regrant(user: ChannelUser): Promise<void> {
    for (const e of [...this.entries]) {
      this.detach(e)
      if (e.deviceId !== null && !user.rootAdmin) {
        const info = await this.deps.directory.get(e.deviceId)
        if (this.session.closed) return
        if (!info || info.ownerId !== user.id) {
          const at = this.entries.indexOf(e)
          if (at >= 0) this.entries.splice(at, 1)
          this.out.error('device_not_found', `Device ${e.deviceId} does not belong to you; its ${e.spec.channel} subscription was removed.`)
          continue
        }
      }
      this.attach(e, user)
    }
  }

  clear(): void {
    this.entries = []
  }

  private indexOf(channel: ChannelName, deviceId: number | null): number {
    return this.entries.findIndex((e) => e.spec.channel === channel && e.deviceId === deviceId)
  }

  /** Creates the hub subscription of one entry (compiled filter, variant, interval). */
  private attach(e: Entry, user: ChannelUser): void {
    const spec = e.spec
    if (spec.channel === 'system') {
      e.sub = this.session.subscribe(systemTopic(spec.intervalMs), { variant: spec.metrics?.join(',') ?? '', tag: 'system' })
      this.deps.system.ensure(spec.intervalMs)
      return
    }
    const ch = spec.channel
    const topic = e.deviceId !== null ? deviceTopic(ch, e.deviceId) : user.rootAdmin ? allTopic(ch) : ownerTopic(ch, user.id)
    const opts: SubscribeOptions = { tag: `${ch}|${e.deviceId ?? '*'}` }
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
    e.sub = this.session.subscribe(topic, opts)
  }

  private detach(e: Entry): void {
    if (e.sub) this.session.unsubscribe(e.sub)
    e.sub = null
  }
}

/** The filters of a subscription as the acknowledgement echoes them. */
function echo(spec: SubscriptionSpec): Record<string, unknown> {
  const f: Record<string, unknown> = {}
  if (spec.metrics) f.metrics = spec.metrics
  if (spec.severity) f.severity = spec.severity
  if (spec.alertTypes) f.alert_type = spec.alertTypes
  if (spec.statusTypes) f.status_types = spec.statusTypes
  if (spec.channel === 'telemetry') f.frequency = spec.frequency ?? 'real-time'
  if (spec.channel === 'system') f.frequency = spec.frequency ?? `${spec.intervalMs / 1000}s`
  return f
}
