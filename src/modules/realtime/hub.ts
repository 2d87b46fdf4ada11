/**
 * The real-time hub shared by every socket family (console, channels, user events).
 *
 * Publishers hand `(topics, codec, payload, lane)` to `publish`; the broker brings it back to
 * `deliver`, which finds recipients through the topic index (never by scanning connections),
 * encodes each distinct variant once into a ready websocket frame, and writes the same bytes to
 * every recipient. Unfiltered subscribers cost one set iteration and one socket write each.
 * Keepalive pings reap dead peers; counters per topic kind feed /metrics.
 */
import type { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import type { Broker, Publication } from './broker.js'
import { MemoryBroker } from './broker.js'
import { CLOSE, type CloseCode } from './close-codes.js'
import { Connection, type BacklogLimits, type ConnectionOwner, type OutboundOptions } from './connection.js'
import { prepareFrame, type PreparedFrame } from './frame.js'
import { subscription, type SubscribeOptions, type Subscription, type ThrottleState } from './subscription.js'

export interface Codec {
  /** The text frame for one variant of the payload, or null when that variant has nothing to send. */
  encode(payload: unknown, variant: string): string | null
}

export interface HubOptions {
  broker?: Broker
  log: FastifyBaseLogger
  limits: OutboundOptions
  /** Ping every this many ms; a peer that has not answered the previous ping is terminated. */
  pingIntervalMs: number
}

export interface KindCounters {
  published: number
  delivered: number
  collapsed: number
}

/** Connections pinged per event-loop turn by the keepalive sweep. */
const PING_SLICE = 500

/** `telemetry:12` → `telemetry`: bounded label cardinality for metrics. */
const kindOf = (topic: string) => {
  const i = topic.indexOf(':')
  return i === -1 ? topic : topic.slice(0, i)
}

export class Hub {
  readonly broker: Broker
  readonly connections = new Set<Connection>()
  /** topic → its local subscriptions. */
  private readonly topics = new Map<string, Set<Subscription>>()
  private readonly codecs = new Map<string, Codec>()
  private readonly kinds = new Map<string, KindCounters>()
  private readonly pingTimer: NodeJS.Timeout
  private seq = 0
  private sweeping = false
  private closing: CloseCode | null = null
  /** Serialisations performed (the encode-once test reads it). */
  encodes = 0
  slowDisconnects = 0
  /** Droppable messages collapsed or skipped across all connections. */
  collapsed = 0
  /** Observer of fan-out latency in seconds (metrics); publish time to the last write. */
  onFanout: ((seconds: number) => void) | null = null

  constructor(private readonly opts: HubOptions) {
    this.broker = opts.broker ?? new MemoryBroker()
    this.broker.attach((pub) => this.deliver(pub))
    this.pingTimer = setInterval(() => this.keepalive(), opts.pingIntervalMs)
    this.pingTimer.unref()
  }

  registerCodec(name: string, codec: Codec): void {
    this.codecs.set(name, codec)
  }

  /** Adopts an open websocket; the connection removes itself from every index when it closes. */
  connect<M>(ws: WebSocket, kind: string, meta: M, limits?: Partial<BacklogLimits>): Connection<M> {
    const conn = new Connection<M>(ws, kind, meta, limits ? { ...this.opts.limits, ...limits } : this.opts.limits, this.owner)
    this.connections.add(conn as Connection)
    // An upgrade that completes while the hub shuts down is closed like the others.
    if (this.closing) conn.close(this.closing)
    return conn
  }

  subscribe(conn: Connection, topic: string, o: SubscribeOptions = {}): Subscription {
    const sub = subscription(conn, topic, o)
    this.resubscribe(sub)
    return sub
  }

  /**
   * Attaches a subscription made by `subscription` or detached by `unsubscribe` (a session
   * pauses its subscriptions that way while its token is expired). Must not be attached already.
   */
  resubscribe(sub: Subscription): void {
    const conn = sub.conn
    let set = this.topics.get(sub.topic)
    if (!set) {
      set = new Set()
      this.topics.set(sub.topic, set)
      this.broker.follow(sub.topic)
    } else {
      // Sockets on one topic share its name and usually their tag: one string each, not one per socket.
      const first = set.values().next().value as Subscription
      sub.topic = first.topic
      if (sub.tag === first.tag) sub.tag = first.tag
    }
    set.add(sub)
    if (conn.subs === null) conn.subs = [sub]
    else conn.subs.push(sub)
  }

  unsubscribe(sub: Subscription): void {
    const subs = sub.conn.subs
    const at = subs ? subs.indexOf(sub) : -1
    if (at >= 0) {
      if (subs!.length === 1) sub.conn.subs = null
      else subs!.splice(at, 1)
    }
    if (sub.throttle) {
      for (const t of sub.throttle.values()) if (t.timer) clearTimeout(t.timer)
      sub.throttle = null
    }
    const set = this.topics.get(sub.topic)
    if (!set) return
    set.delete(sub)
    if (set.size === 0) {
      this.topics.delete(sub.topic)
      this.broker.unfollow(sub.topic)
    }
  }

  publish(pub: Publication): void {
    if (this.onFanout && pub.publishedAt === undefined) pub.publishedAt = Date.now()
    this.broker.publish(pub)
  }

  /** Local fan-out of one publication (called by the broker). */
  deliver(pub: Publication): void {
    const codec = this.codecs.get(pub.codec)
    if (!codec) {
      this.opts.log.error({ codec: pub.codec }, 'publication with an unknown codec dropped')
      return
    }
    const seq = ++this.seq
    const collapseKey = pub.collapseKey ?? ''
    // Variant '' is by far the most common; keep it out of the map.
    let full: PreparedFrame | null | undefined
    let variants: Map<string, PreparedFrame | null> | undefined
    let delivered = 0
    for (const topic of pub.topics) {
      const subs = this.topics.get(topic)
      if (!subs) continue
      for (const sub of subs) {
        const conn = sub.conn
        if (conn.lastSeq === seq) continue
        if (sub.filter !== undefined && !sub.filter(pub.payload)) continue
        let frame: PreparedFrame | null | undefined
        if (sub.variant === '') {
          if (full === undefined) full = this.encode(codec, pub.payload, '')
          frame = full
        } else {
          variants ??= new Map()
          frame = variants.get(sub.variant)
          if (frame === undefined) {
            frame = this.encode(codec, pub.payload, sub.variant)
            variants.set(sub.variant, frame)
          }
        }
        if (frame === null) continue
        conn.lastSeq = seq
        if (sub.minIntervalMs > 0) this.throttled(sub, frame, collapseKey)
        else if (conn.send(frame, pub.lane, collapseKey)) delivered++
      }
    }
    const k = this.kindCounters(pub.topics[0] ?? '')
    k.published++
    k.delivered += delivered
    if (this.onFanout && pub.publishedAt !== undefined) this.onFanout((Date.now() - pub.publishedAt) / 1000)
  }

  /** Every open connection, for revocation sweeps (rare events; O(n) is fine there). */
  forEachConnection(fn: (conn: Connection) => void): void {
    for (const conn of this.connections) fn(conn)
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0
  }

  /** Number of topics with at least one local subscriber (tests check it returns to zero). */
  get topicCount(): number {
    return this.topics.size
  }

  kindStats(): ReadonlyMap<string, KindCounters> {
    return this.kinds
  }

  /** Closes every connection with `code` (1012 at shutdown) and stops the keepalive timer. */
  async close(code: CloseCode = CLOSE.RESTART): Promise<void> {
    clearInterval(this.pingTimer)
    this.closing = code
    for (const conn of [...this.connections]) conn.close(code)
    await this.broker.close()
  }

  private encode(codec: Codec, payload: unknown, variant: string): PreparedFrame | null {
    this.encodes++
    const text = codec.encode(payload, variant)
    return text === null ? null : prepareFrame(text)
  }

  private throttled(sub: Subscription, frame: PreparedFrame, key: string): void {
    sub.throttle ??= new Map()
    let state: ThrottleState | undefined = sub.throttle.get(key)
    const now = Date.now()
    if (!state) {
      state = { last: 0, pending: null, timer: null }
      sub.throttle.set(key, state)
    }
    const wait = state.last + sub.minIntervalMs - now
    if (wait <= 0) {
      state.last = now
      sub.conn.send(frame, 'droppable', key)
      return
    }
    state.pending = frame // keep only the latest inside the interval
    if (!state.timer) {
      const s = state
      s.timer = setTimeout(() => {
        s.timer = null
        if (s.pending && sub.throttle) {
          s.last = Date.now()
          sub.conn.send(s.pending, 'droppable', key)
          s.pending = null
        }
      }, wait)
      s.timer.unref()
    }
  }

  private kindCounters(topic: string): KindCounters {
    const kind = kindOf(topic)
    let k = this.kinds.get(kind)
    if (!k) {
      k = { published: 0, delivered: 0, collapsed: 0 }
      this.kinds.set(kind, k)
    }
    return k
  }

  /**
   * Pings every connection, in slices of PING_SLICE per event-loop turn: one synchronous loop
   * over 10k sockets takes ~100 ms here, which would stall every delivery behind it.
   */
  private keepalive(): void {
    if (this.sweeping) return
    this.sweeping = true
    const pending = [...this.connections]
    const slice = (start: number) => {
      const end = Math.min(start + PING_SLICE, pending.length)
      for (let i = start; i < end; i++) {
        const conn = pending[i]!
        if (conn.closed) continue
        if (!conn.alive) {
          conn.terminate()
          continue
        }
        conn.alive = false
        try {
          conn.ws.ping()
        } catch {
          conn.terminate()
        }
      }
      if (end < pending.length) setImmediate(slice, end)
      else this.sweeping = false
    }
    slice(0)
  }

  /** Shared by every connection (one object, not two closures per socket). */
  private readonly owner: ConnectionOwner = {
    disconnected: (conn) => this.disconnected(conn),
    collapsedOne: () => {
      this.collapsed++
    },
  }

  private disconnected(conn: Connection): void {
    if (!this.connections.delete(conn)) return
    if (conn.closeCode === CLOSE.SLOW_CONSUMER.code) this.slowDisconnects++
    if (conn.subs) for (const sub of [...conn.subs]) this.unsubscribe(sub)
  }
}
