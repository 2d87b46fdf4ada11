/**
 * Carries domain events (revocations, user changes, logins) between instances over Redis, so
 * that revoking a key or deleting a user on one instance closes the affected sockets and evicts
 * caches on every instance. A relayed event is re-emitted locally while `relaying` is set, which
 * keeps it from being forwarded again.
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

export class EventBridge {
  private readonly id = randomUUID()
  private readonly pub: Redis
  private readonly sub: Redis
  /** `<REDIS_PREFIX>events` */
  private readonly channel: string
  private relaying = false
  private readonly listeners: Array<[Relayed, (payload: unknown) => void]> = []

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
    for (const name of RELAYED_EVENTS) {
      const fn = (payload: unknown) => {
        if (this.relaying || this.pub.status !== 'ready') return
        this.pub.publish(this.channel, JSON.stringify({ o: this.id, e: name, p: payload })).catch(() => {})
      }
      this.listeners.push([name, fn])
      ;(this.events.on as (e: string, f: (p: unknown) => void) => void)(name, fn)
    }
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
