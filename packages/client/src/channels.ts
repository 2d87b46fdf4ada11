/**
 * The IoT channels socket (`/ws`): credentials from `GET /api/client/websocket`, `{type:'auth'}`,
 * subscriptions kept by the SDK and re-sent after every reconnect, `ping()` round trips, and
 * exactly-once alerts.
 *
 * Exactly-once alerts: every alert id seen is remembered (bounded) and the highest one is the
 * cursor. After a reconnect, once the subscriptions are back, the SDK pages through
 * `GET /api/client/alerts?since=<cursor>` and emits what it missed; live alerts that arrive
 * during that catch-up are held back and merged so the application gets each alert once, in id
 * order. The cursor is seeded after the first connection (from the newest stored alert) so that
 * alerts raised before the application started are not replayed, unless `alertsSince` is given.
 */
import type { Clock } from './backoff.js'
import type { Handler, Off } from './emitter.js'
import type { Rest } from './http.js'
import { ReconnectingSocket, asError, type OpenEvent, type SocketDeps, type SocketEvents } from './socket.js'
import { TelemetryFollower, type TelemetryStreamHandlers, type TelemetryStreamOptions } from './telemetry-stream.js'
import type {
  AlertMessage,
  ChannelError,
  ChannelFilters,
  ChannelName,
  DeviceStatusUpdate,
  SubscribedAck,
  SystemStatusUpdate,
  CommandUpdate,
  TelemetryHistoryFrame,
  TelemetrySnapshot,
  TelemetryUpdate,
} from './types.js'

export interface ChannelsEvents extends SocketEvents {
  telemetry: TelemetryUpdate
  alert: AlertMessage
  deviceStatus: DeviceStatusUpdate
  systemStatus: SystemStatusUpdate
  command: CommandUpdate
  subscribed: SubscribedAck
  /** `{type:'error'}` frames (refused subscribe, limits, expired token...). */
  serverError: ChannelError
  /** Every frame as received, for types this SDK does not model. */
  frame: { type: string; [k: string]: unknown }
}

export interface ChannelsOptions {
  /** Socket path when not the one the credential endpoint returns (`/ws/telemetry`, ...). */
  path?: string
  /**
   * Alert cursor to start from (the last alert id the application already handled, e.g. saved
   * across restarts). Alerts after it are recovered on the first connection too.
   */
  alertsSince?: number
  /** Default timeout of `ping()` in ms. Default 10 000. */
  pingTimeoutMs?: number
}

/** Alert ids remembered for deduplication (older ones are below the cursor anyway). */
const SEEN_LIMIT = 2048
/** Pages of catch-up read at most per reconnect (×per_page alerts). */
const MAX_CATCHUP_PAGES = 100
const PER_PAGE = 100
/** Ids re-read below the cursor on catch-up (alerts committed concurrently may publish out of order). */
const LOOKBACK_IDS = 100

interface Subscription {
  channel: ChannelName
  filters: ChannelFilters
}

interface PendingPing {
  sentAt: number
  resolve(ms: number): void
  reject(err: Error): void
  timer: unknown
}

export class ChannelsSocket extends ReconnectingSocket<ChannelsEvents> {
  private readonly subs = new Map<number, Subscription>()
  private nextSubId = 1
  private readonly pings = new Map<string, PendingPing[]>()
  private readonly seen = new Set<number>()
  private cursor: number | null
  /** Recovered alerts at or below this id are never delivered (the starting point). */
  private floor: number | null
  private catchingUp: AlertMessage[] | null = null
  private catchUpRun = 0
  private readonly followers = new Map<number, TelemetryFollower>()

  constructor(
    deps: SocketDeps,
    private readonly rest: Rest,
    private readonly opts: ChannelsOptions = {},
  ) {
    super(deps)
    this.cursor = this.floor = opts.alertsSince ?? null
    this.start()
  }

  /* ------------------------------------------------------------------- API */

  /**
   * Subscribes to a channel (kept across reconnects). Returns the function that unsubscribes.
   * Messages arrive through onTelemetry / onAlert / onDeviceStatus / onSystemStatus.
   */
  subscribe(channel: ChannelName, filters: ChannelFilters = {}): () => void {
    const id = this.nextSubId++
    const sub: Subscription = { channel, filters: { ...filters } }
    this.subs.set(id, sub)
    if (this.isReady) {
      this.sendSubscribe(sub)
      // First alert subscription on a live socket: seed the cursor now, or a later reconnect
      // would have nothing to catch up from.
      if (channel === 'alerts' && this.cursor === null && this.catchingUp === null) void this.syncAlerts()
    }
    let done = false
    return () => {
      if (done) return
      done = true
      this.subs.delete(id)
      if (!this.isReady) return
      this.sendJson({ type: 'unsubscribe', channel, ...deviceField(sub.filters) })
      // The server keys subscriptions by channel (and device): put back any other subscription
      // of this application that the unsubscribe may have removed with it.
      for (const other of this.subs.values()) if (other.channel === channel) this.sendSubscribe(other)
    }
  }

  /**
   * History then live for one device, in one subscription: the requested history (`last`,
   * `since`, `sinceOffset`; optionally a `snapshot` of the latest values), then live readings,
   * each reading once and in offset order, with no gap or duplicate at the seam. After a
   * reconnect it resumes from the last offset delivered. Returns the function that stops it.
   * One stream per device (a second call for the same device replaces the first).
   */
  streamTelemetry(deviceId: number, opts: TelemetryStreamOptions, handlers: TelemetryStreamHandlers): () => void {
    const follower = new TelemetryFollower(deviceId, opts, handlers)
    this.followers.set(deviceId, follower)
    if (this.isReady) this.sendJson(follower.subscribeMessage())
    return () => {
      if (this.followers.get(deviceId) !== follower) return
      this.followers.delete(deviceId)
      if (this.isReady) this.sendJson({ type: 'unsubscribe', channel: 'telemetry', device_id: deviceId })
    }
  }

  /** The last offset a stream delivered (to save and pass as `sinceOffset` later). */
  streamOffset(deviceId: number): number | null {
    return this.followers.get(deviceId)?.lastOffset ?? null
  }

  onTelemetry(handler: Handler<TelemetryUpdate>): Off {
    return this.on('telemetry', handler)
  }

  /** Each alert exactly once, live or recovered after a reconnect (`recovered: true`). */
  onAlert(handler: Handler<AlertMessage>): Off {
    return this.on('alert', handler)
  }

  onDeviceStatus(handler: Handler<DeviceStatusUpdate>): Off {
    return this.on('deviceStatus', handler)
  }

  onSystemStatus(handler: Handler<SystemStatusUpdate>): Off {
    return this.on('systemStatus', handler)
  }

  /** Each state change of a device command (subscribe to `commands` first). */
  onCommand(handler: Handler<CommandUpdate>): Off {
    return this.on('command', handler)
  }

  onError(handler: Handler<ChannelError>): Off {
    return this.on('serverError', handler)
  }

  /** Highest alert id delivered so far (null before the first). */
  get alertCursor(): number | null {
    return this.cursor
  }

  /** Sends a `ping` and resolves to the round-trip time in ms when its `pong` comes back. */
  ping(timeoutMs = this.opts.pingTimeoutMs ?? 10_000): Promise<number> {
    const clock: Clock = this.deps.clock
    const sentAt = clock.now()
    const timestamp = new Date(sentAt).toISOString()
    if (!this.isReady || !this.sendJson({ type: 'ping', timestamp })) {
      return Promise.reject(new Error('not connected'))
    }
    return new Promise<number>((resolve, reject) => {
      const entry: PendingPing = {
        sentAt,
        resolve,
        reject,
        timer: clock.setTimeout(() => {
          this.removePing(timestamp, entry)
          reject(new Error('ping timed out'))
        }, timeoutMs),
      }
      const list = this.pings.get(timestamp)
      if (list) list.push(entry)
      else this.pings.set(timestamp, [entry])
    })
  }

  override close(): void {
    for (const list of this.pings.values()) for (const p of list) {
      this.deps.clock.clearTimeout(p.timer)
      p.reject(new Error('socket closed'))
    }
    this.pings.clear()
    super.close()
  }

  /* -------------------------------------------------------------- protocol */

  protected async credentials() {
    const c = await this.rest.credentials('/api/client/websocket')
    return { url: this.opts.path ? this.rest.socketUrl(this.opts.path) : c.socket, token: c.token }
  }

  protected sendAuth(token: string): void {
    this.sendJson({ type: 'auth', token })
  }

  protected override onReady(_ev: OpenEvent): void {
    for (const sub of this.subs.values()) this.sendSubscribe(sub)
    for (const f of this.followers.values()) this.sendJson(f.subscribeMessage())
    if (this.hasAlertSubscription()) void this.syncAlerts()
  }

  protected onFrame(raw: unknown): void {
    if (!raw || typeof raw !== 'object') return
    const frame = raw as { type?: unknown; [k: string]: unknown }
    if (typeof frame.type !== 'string') return
    switch (frame.type) {
      case 'auth_response':
        if (frame.success === true) this.authenticated()
        else if (frame.error === 'token_expired' && this.state === 'ready') void this.refreshToken().catch(() => {})
        else this.authRejected(String(frame.message ?? frame.error ?? 'auth refused'))
        break
      case 'token_expiring':
        void this.refreshToken().catch(() => {})
        break
      case 'telemetry_update': {
        const u = frame as unknown as TelemetryUpdate
        const f = typeof u.offset === 'number' ? this.followers.get(u.device_id) : undefined
        if (f) f.live(u.offset!, u.telemetry)
        this.events.emit('telemetry', u)
        break
      }
      case 'telemetry_history': {
        const h = frame as unknown as TelemetryHistoryFrame
        this.followers.get(h.device_id)?.history(h)
        break
      }
      case 'telemetry_snapshot': {
        const sn = frame as unknown as TelemetrySnapshot
        this.followers.get(sn.device_id)?.snapshot(sn)
        break
      }
      case 'alert':
        this.receiveAlert(frame as unknown as AlertMessage)
        break
      case 'device_status_update':
        this.events.emit('deviceStatus', frame as unknown as DeviceStatusUpdate)
        break
      case 'system_status_update':
        this.events.emit('systemStatus', frame as unknown as SystemStatusUpdate)
        break
      case 'command_update':
        this.events.emit('command', frame as unknown as CommandUpdate)
        break
      case 'pong':
        this.receivePong(frame)
        break
      case 'subscribed':
        this.events.emit('subscribed', frame as unknown as SubscribedAck)
        break
      case 'error':
        this.events.emit('serverError', frame as unknown as ChannelError)
        // Delivery stops after expiry "with an error until renewed": renew.
        if (frame.code === 'token_expired' && this.state === 'ready') void this.refreshToken().catch(() => {})
        break
      case 'batch':
        if (Array.isArray(frame.messages)) for (const m of frame.messages) this.onFrame(m)
        return
    }
    this.events.emit('frame', frame as { type: string })
  }

  /* ---------------------------------------------------------------- helpers */


  private sendSubscribe(sub: Subscription): void {
    const filters = sub.filters
    const msg: Record<string, unknown> = { type: 'subscribe', channel: sub.channel }
    // A single device goes top-level too, as the seed's examples send it.
    if (typeof filters.device_id === 'number') msg.device_id = filters.device_id
    if (Object.keys(filters).length > 0) msg.filters = filters
    this.sendJson(msg)
  }

  private receivePong(frame: Record<string, unknown>): void {
    const ts = typeof frame.timestamp === 'string' ? frame.timestamp : null
    const list = ts ? this.pings.get(ts) : undefined
    const entry = list?.shift()
    if (!entry || !ts) return
    if (list!.length === 0) this.pings.delete(ts)
    this.deps.clock.clearTimeout(entry.timer)
    entry.resolve(Math.max(0, this.deps.clock.now() - entry.sentAt))
  }

  private removePing(ts: string, entry: PendingPing): void {
    const list = this.pings.get(ts)
    if (!list) return
    const i = list.indexOf(entry)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.pings.delete(ts)
  }

  private hasAlertSubscription(): boolean {
    for (const s of this.subs.values()) if (s.channel === 'alerts') return true
    return false
  }

  private receiveAlert(alert: AlertMessage): void {
    if (typeof alert.alert_id !== 'number') return
    if (this.catchingUp) this.catchingUp.push(alert)
    else this.deliverAlert(alert)
  }

  private deliverAlert(alert: AlertMessage): void {
    const id = alert.alert_id
    if (this.seen.has(id)) return
    // Recovered alerts at or below the starting point predate the application.
    if (alert.recovered && this.floor !== null && id <= this.floor) return
    this.seen.add(id)
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.values().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
    if (this.cursor === null || id > this.cursor) this.cursor = id
    this.events.emit('alert', alert)
  }

  /**
   * Without a cursor: seed it (and the floor) from the newest stored alert, so history from
   * before the application started is not replayed. With one: recover alerts after it (minus a
   * small look-back, since concurrent alerts may be published out of id order) that match an
   * alert subscription. Live alerts are held back meanwhile and merged in id order.
   */
  private async syncAlerts(): Promise<void> {
    const run = ++this.catchUpRun
    this.catchingUp ??= []
    try {
      if (this.cursor === null) {
        const newest = await this.newestAlertId()
        if (run !== this.catchUpRun) return
        this.floor = this.cursor = newest
      } else {
        const since = Math.max(this.floor ?? 0, this.cursor - LOOKBACK_IDS)
        const missed = await this.fetchAlertsSince(since)
        if (run !== this.catchUpRun) return
        for (const a of missed) if (this.matchesAlertSubscription(a)) this.catchingUp.push({ ...a, recovered: true })
      }
    } catch (err) {
      this.events.emit('error', asError(err))
    } finally {
      if (run === this.catchUpRun) {
        const held = this.catchingUp ?? []
        this.catchingUp = null
        held.sort((a, b) => a.alert_id - b.alert_id)
        for (const a of held) this.deliverAlert(a)
      }
    }
  }

  private async newestAlertId(): Promise<number> {
    // Ordering of the list is not part of the contract: read the first and the last page and
    // take the highest id seen (2 requests at most, whatever the history size).
    const first = await this.rest.request<AlertList>('GET', `/api/client/alerts?since=0&per_page=${PER_PAGE}`)
    let max = maxId(first)
    const pages = first?.meta?.pagination?.total_pages ?? 1
    if (pages > 1) max = Math.max(max, maxId(await this.rest.request<AlertList>('GET', `/api/client/alerts?since=0&per_page=${PER_PAGE}&page=${pages}`)))
    return max
  }

  private async fetchAlertsSince(since: number): Promise<AlertMessage[]> {
    const out: AlertMessage[] = []
    for (let page = 1; page <= MAX_CATCHUP_PAGES; page++) {
      const body = await this.rest.request<AlertList>('GET', `/api/client/alerts?since=${since}&per_page=${PER_PAGE}&page=${page}`)
      for (const item of body?.data ?? []) {
        const a = toAlertMessage(item)
        if (a && a.alert_id > since) out.push(a)
      }
      const pages = body?.meta?.pagination?.total_pages ?? 1
      if (page >= pages) break
    }
    return out
  }

  private matchesAlertSubscription(a: AlertMessage): boolean {
    for (const s of this.subs.values()) {
      if (s.channel !== 'alerts') continue
      const f = s.filters
      if (!inFilter(f.device_id, a.device_id)) continue
      if (!inFilter(f.severity, a.severity)) continue
      if (!inFilter(f.alert_type, a.alert_type)) continue
      return true
    }
    return false
  }
}

/* ------------------------------------------------------------------------- */

interface AlertList {
  data?: unknown[]
  meta?: { pagination?: { total_pages?: number } }
}

function deviceField(f: ChannelFilters): { device_id?: number | number[] } {
  return f.device_id === undefined ? {} : { device_id: f.device_id }
}

function inFilter<T>(filter: T | T[] | undefined, value: T | undefined): boolean {
  if (filter === undefined) return true
  return Array.isArray(filter) ? filter.includes(value as T) : filter === value
}

function maxId(list: AlertList | undefined): number {
  let max = 0
  for (const item of list?.data ?? []) {
    const a = toAlertMessage(item)
    if (a && a.alert_id > max) max = a.alert_id
  }
  return max
}

/** A REST alert (Pterodactyl envelope `{object, attributes}` or a bare object) as the socket's `alert` message. */
export function toAlertMessage(item: unknown): AlertMessage | null {
  if (!item || typeof item !== 'object') return null
  const a = ((item as { attributes?: unknown }).attributes ?? item) as Record<string, unknown>
  const id = Number(a.alert_id ?? a.id)
  if (!Number.isInteger(id)) return null
  const metadata =
    a.metadata && typeof a.metadata === 'object'
      ? (a.metadata as AlertMessage['metadata'])
      : { threshold_value: a.threshold_value as number | undefined, actual_value: a.actual_value as number | undefined }
  return {
    type: 'alert',
    channel: 'alerts',
    alert_id: id,
    device_id: Number(a.device_id),
    severity: a.severity as AlertMessage['severity'],
    title: String(a.title ?? ''),
    message: String(a.message ?? ''),
    timestamp: String(a.timestamp ?? a.created_at ?? ''),
    ...(a.alert_type !== undefined ? { alert_type: String(a.alert_type) } : {}),
    ...(metadata ? { metadata } : {}),
  }
}
