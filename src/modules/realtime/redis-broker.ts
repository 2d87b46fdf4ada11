/**
 * The Redis backplane for running several wirehub instances as one. A publication is delivered
 * to local subscribers at once and also published on one Redis channel per topic; each instance
 * SUBSCRIBEs only to the topics it has local subscribers for (the hub calls follow/unfollow), so
 * an instance with no interested clients receives nothing. Messages carry the origin instance id
 * (an instance ignores its own) and a message id (an instance subscribed to several topics of one
 * publication delivers it once). If Redis goes away, local delivery goes on; ioredis reconnects
 * and re-subscribes, and `status` reports the outage to /ready and /metrics. Channels are named
 * `<REDIS_PREFIX>t:<topic>`, so deployments with different prefixes share a Redis unseen.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Broker, Publication } from './broker.js'
import { DEFAULT_REDIS_PREFIX } from '../cluster/cluster.types.js'

interface Envelope {
  /** origin instance */
  o: string
  /** message id, unique per publication */
  m: string
  p: Publication
}

export class RedisBroker implements Broker {
  readonly instanceId = randomUUID()
  private readonly pub: Redis
  private readonly sub: Redis
  /** Channel of a topic: `<REDIS_PREFIX>t:<topic>`. */
  private readonly channelPrefix: string
  private deliver: (pub: Publication) => void = () => {}
  private readonly following = new Set<string>()
  /** Ids of recently delivered remote publications (bounded, insertion-ordered). */
  private readonly seen = new Map<string, true>()
  private seq = 0
  private lastErrorLog = 0
  published = 0
  received = 0
  errors = 0

  constructor(
    url: string,
    private readonly log: FastifyBaseLogger,
    options: { prefix?: string } = {},
  ) {
    this.channelPrefix = `${options.prefix ?? DEFAULT_REDIS_PREFIX}t:`
    const opts = {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
    }
    // Auto-pipelining: the PUBLISHes of one publication (one per topic) and of every other
    // publication in the same turn of the event loop leave in one write, not one each.
    this.pub = new Redis(url, { ...opts, enableAutoPipelining: true })
    this.sub = new Redis(url, { ...opts, enableOfflineQueue: true })
    for (const client of [this.pub, this.sub]) client.on('error', (err) => this.logError(err))
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.onMessage(message))
    this.sub.on('ready', () => {
      // ioredis re-subscribes by itself after a reconnect; this covers topics followed while down.
      if (this.following.size > 0) void this.sub.subscribe(...[...this.following].map((t) => this.channelPrefix + t)).catch(() => {})
    })
  }

  get status(): 'ready' | 'down' {
    return this.pub.status === 'ready' && this.sub.status === 'ready' ? 'ready' : 'down'
  }

  attach(deliver: (pub: Publication) => void): void {
    this.deliver = deliver
  }

  publish(pub: Publication): void {
    this.deliver(pub)
    if (this.pub.status !== 'ready') return
    const env: Envelope = { o: this.instanceId, m: `${this.instanceId}:${++this.seq}`, p: pub }
    const text = JSON.stringify(env)
    for (const topic of pub.topics) {
      this.published++
      this.pub.publish(this.channelPrefix + topic, text).catch((err: Error) => this.logError(err))
    }
  }

  follow(topic: string): void {
    this.following.add(topic)
    this.sub.subscribe(this.channelPrefix + topic).catch((err: Error) => this.logError(err))
  }

  unfollow(topic: string): void {
    this.following.delete(topic)
    this.sub.unsubscribe(this.channelPrefix + topic).catch((err: Error) => this.logError(err))
  }

  async close(): Promise<void> {
    this.pub.disconnect()
    this.sub.disconnect()
  }

  private onMessage(raw: Buffer): void {
    let env: Envelope
    try {
      env = JSON.parse(raw.toString('utf8')) as Envelope
    } catch {
      return
    }
    if (env.o === this.instanceId || this.seen.has(env.m)) return
    this.seen.set(env.m, true)
    if (this.seen.size > 10_000) this.seen.delete(this.seen.keys().next().value as string)
    this.received++
    this.deliver(env.p)
  }

  private logError(err: Error): void {
    this.errors++
    const now = Date.now()
    if (now - this.lastErrorLog < 5000) return
    this.lastErrorLog = now
    this.log.warn({ err: err.message }, 'redis backplane unavailable; serving local clients only')
  }
}
