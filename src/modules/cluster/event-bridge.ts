/**
 * Carries domain events (revocations, user changes, logins) between instances over Redis, so
 * that revoking a key or deleting a user on one instance closes the affected sockets and evicts
 * caches on every instance. A relayed event is re-emitted locally while `relaying` is set, which
 * keeps it from being forwarded again. Events emitted while Redis is unreachable are kept (the
 * newest MAX_QUEUED) and published once it is back; since another instance may not have
 * resubscribed by then, `onReconnect` also tells the credential re-check to run at once.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { DomainEventMap, DomainEvents } from '../../lib/domain-events.js'
import { DEFAULT_REDIS_PREFIX } from './cluster.types.js'

/** Events that other instances must hear about. */
export const RELAYED_EVENTS = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.login',
  'user.logout',
  'apikey.created',
  'apikey.revoked',
  'session.ended',
] as const satisfies ReadonlyArray<keyof DomainEventMap>

type Relayed = (typeof RELAYED_EVENTS)[number]

/** Events kept for publication while Redis is unreachable (the oldest go first beyond this). */
const MAX_QUEUED = 1000

export class EventBridge {
  private readonly id = randomUUID()
  private readonly pub: Redis
  private readonly sub: Redis
  /** `<REDIS_PREFIX>events` */
  private readonly channel: string
  private relaying = false
  private readonly listeners: Array<[Relayed, (payload: unknown) => void]> = []
  private readonly queued: string[] = []
  private readonly reconnectListeners: Array<() => void> = []
  private everReady = false

  constructor(
    url: string,
    private readonly events: DomainEvents,
    prefix = DEFAULT_REDIS_PREFIX,
  ) {
    this.channel = `${prefix}events`
    const retryStrategy = (times: number) => Math.min(times * 200, 2000)
    this.pub = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy })
    this.sub = new Redis(url, { retryStrategy })
    this.pub.on('error', () => {})
    this.sub.on('error', () => {})
    void this.sub.subscribe(this.channel).catch(() => {})
    this.sub.on('message', (_c: string, message: string) => this.receive(message))
    this.pub.on('ready', () => this.flush())
    this.sub.on('ready', () => {
      // The first connection is not a reconnection: nothing can have been missed before it.
      if (this.everReady) for (const fn of this.reconnectListeners) fn()
      this.everReady = true
    })
    for (const name of RELAYED_EVENTS) {
      const fn = (payload: unknown) => {
        if (this.relaying) return
        const message = JSON.stringify({ o: this.id, e: name, p: payload })
        if (this.pub.status !== 'ready') return this.keep(message)
        this.pub.publish(this.channel, message).catch(() => this.keep(message))
      }
      this.listeners.push([name, fn])
      ;(this.events.on as (e: string, f: (p: unknown) => void) => void)(name, fn)
    }
  }

  /** Calls `fn` each time the subscription comes back after losing Redis (events may have been missed). */
  onReconnect(fn: () => void): void {
    this.reconnectListeners.push(fn)
  }

  private keep(message: string): void {
    if (this.queued.length >= MAX_QUEUED) this.queued.shift()
    this.queued.push(message)
  }

  private flush(): void {
    const batch = this.queued.splice(0)
    for (const message of batch) this.pub.publish(this.channel, message).catch(() => this.keep(message))
  }

  /** Resolves once both connections are up (tests). */
  async ready(): Promise<void> {
    while (this.pub.status !== 'ready' || this.sub.status !== 'ready') await new Promise((r) => setTimeout(r, 10))
  }

  async close(): Promise<void> {
    for (const [name, fn] of this.listeners) (this.events.off as (e: string, f: (p: unknown) => void) => void)(name, fn)
    this.pub.disconnect()
    this.sub.disconnect()
  }

  private receive(message: string): void {
    let msg: { o: string; e: Relayed; p: Record<string, unknown> }
    try {
      msg = JSON.parse(message) as typeof msg
    } catch {
      return
    }
    if (msg.o === this.id || !(RELAYED_EVENTS as readonly string[]).includes(msg.e)) return
    const payload = { ...msg.p, at: new Date(String(msg.p.at)) }
    this.relaying = true
    try {
      ;(this.events.emit as (e: string, p: unknown) => boolean)(msg.e, payload)
    } finally {
      this.relaying = false
    }
  }
}
