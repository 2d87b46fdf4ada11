/**
 * A session's hub subscriptions, kept as (topic, options) so the core can pause them all while
 * the token is expired (delivery stops, nothing is lost on the server side: clients recover
 * from history) and resume them on the renewing auth, whatever the family. Adapters hold the
 * handles; the hub never sees a paused one.
 */
import type { Connection } from './connection.js'
import type { Hub } from './hub.js'
import type { SubscribeOptions, Subscription } from './subscription.js'

export interface SessionSubscription {
  readonly topic: string
  readonly opts: SubscribeOptions
  /** The live hub subscription, or null while paused. */
  sub: Subscription | null
}

export class SessionSubscriptions {
  /** An array, not a Set: a socket holds a few subscriptions and a Set costs more memory. */
  private readonly all: SessionSubscription[] = []

  constructor(
    private readonly hub: Hub,
    private readonly conn: Connection,
    private paused: boolean,
  ) {}

  add(topic: string, opts: SubscribeOptions): SessionSubscription {
    const s: SessionSubscription = { topic, opts, sub: this.paused ? null : this.hub.subscribe(this.conn, topic, opts) }
    this.all.push(s)
    return s
  }

  remove(s: SessionSubscription): void {
    if (s.sub) this.hub.unsubscribe(s.sub)
    s.sub = null
    const i = this.all.indexOf(s)
    if (i >= 0) this.all.splice(i, 1)
  }

  pause(): void {
    this.paused = true
    for (const s of this.all) {
      if (s.sub) this.hub.unsubscribe(s.sub)
      s.sub = null
    }
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    for (const s of this.all) s.sub ??= this.hub.subscribe(this.conn, s.topic, s.opts)
  }

  clear(): void {
    this.pause()
    this.all.length = 0
  }
}
