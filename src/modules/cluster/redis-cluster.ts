/**
 * The cluster over Redis. Nodes announce themselves with a key that expires unless refreshed
 * (REDIS_NODE_TTL); a node counts as alive while that key exists and its RPC channel has a
 * subscriber, so a crashed process (whose connections Redis drops at once) is seen dead at once
 * and a hung or cut-off one within the TTL. Calls to another node go over pub/sub with a reply
 * channel per instance and a timeout; PUBLISH reporting no receiver fails fast. Slots are sorted
 * sets of holders scored by expiry, taken by one Lua script (atomic) and refreshed while held, so
 * slots of a crashed instance free themselves within the TTL. Claims are SET NX PX. While Redis
 * is unreachable, slots and claims fall back to local decisions so local clients keep being
 * served; slots held then are written back when Redis returns (an empty, restarted Redis too).
 * Every key and channel starts with REDIS_PREFIX.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { LocalCluster } from './local-cluster.js'
import { DEFAULT_REDIS_PREFIX, RpcError, type Cluster, type RpcHandler } from './cluster.types.js'

/** REDIS_NODE_TTL's default, in ms. */
const DEFAULT_NODE_TTL_MS = 15_000
/** Members per ZADD in a slot refresh (keeps each command's argument list bounded). */
const REFRESH_CHUNK = 1000

export interface RedisClusterOptions {
  /** REDIS_PREFIX (default `wh:`). */
  prefix?: string
  /** REDIS_NODE_TTL in ms: node entries and slots expire this long after their last refresh. */
  nodeTtlMs?: number
}

const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0`

interface RpcRequest {
  id: string
  method: string
  params: unknown
  reply: string
}
interface RpcReply {
  id: string
  ok: boolean
  result?: unknown
  error?: string
  status?: number
}

export class RedisCluster implements Cluster {
  readonly instanceId = randomUUID()
  readonly distributed = true
  private readonly cmd: Redis
  private readonly sub: Redis
  private readonly local: LocalCluster
  private readonly handlers = new Map<string, RpcHandler>()
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  private readonly held = new Map<string, Set<string>>()
  private readonly timer: NodeJS.Timeout
  private readonly replyChannel: string
  private readonly prefix: string
  /** Lifetime of a node entry and of a slot without refresh. */
  private readonly ttlMs: number

  constructor(
    url: string,
    readonly nodeName: string,
    private readonly publicUrl: () => string,
    private readonly log: FastifyBaseLogger,
    opts: RedisClusterOptions = {},
  ) {
    this.prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX
    this.ttlMs = opts.nodeTtlMs ?? DEFAULT_NODE_TTL_MS
    this.local = new LocalCluster(nodeName, publicUrl)
    const retryStrategy = (times: number) => Math.min(times * 200, 2000)
    this.cmd = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy })
    this.sub = new Redis(url, { retryStrategy })
    this.cmd.on('error', () => {})
    this.sub.on('error', () => {})
    this.replyChannel = this.key(`rpc:reply:${this.instanceId}`)
    void this.sub.subscribe(this.key(`rpc:${nodeName}`), this.replyChannel).catch(() => {})
    this.sub.on('message', (channel: string, message: string) => void this.onMessage(channel, message))
    this.cmd.on('ready', () => void this.refresh())
    // Three refreshes per TTL: one lost or late refresh does not expire a live instance's entries.
    this.timer = setInterval(() => void this.refresh(), Math.floor(this.ttlMs / 3))
    this.timer.unref()
  }

  /** A key or channel name under REDIS_PREFIX. */
  private key(name: string): string {
    return this.prefix + name
  }

  private get up(): boolean {
    return this.cmd.status === 'ready'
  }

  async nodeUrl(node: string): Promise<string | undefined> {
    if (node === this.nodeName) return this.publicUrl()
    if (!this.up) return undefined
    // The entry outlives a crashed process by up to the TTL; its RPC subscription does not.
    const replies = await this.cmd
      .pipeline()
      .get(this.key(`node:${node}`))
      .pubsub('NUMSUB', this.key(`rpc:${node}`))
      .exec()
      .catch(() => null)
    const raw = replies?.[0]?.[1] as string | null | undefined
    const listeners = Number((replies?.[1]?.[1] as [string, number] | undefined)?.[1] ?? 0)
    return raw && listeners > 0 ? (JSON.parse(raw) as { url: string }).url : undefined
  }

  async call(node: string, method: string, params: unknown, timeoutMs = 5000): Promise<unknown> {
    if (node === this.nodeName) {
      const fn = this.handlers.get(method)
      if (!fn) throw new RpcError(`no handler for ${method}`, 'no_handler')
      return fn(params)
    }
    if (!this.up) throw new RpcError(`node ${node} is not reachable (Redis is down)`, 'unreachable')
    const id = randomUUID()
    const request: RpcRequest = { id, method, params, reply: this.replyChannel }
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new RpcError(`node ${node} did not answer ${method} in time`, 'timeout'))
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
    })
    const receivers = await this.cmd.publish(this.key(`rpc:${node}`), JSON.stringify(request)).catch(() => 0)
    if (receivers === 0) {
      const p = this.pending.get(id)
      if (p) {
        clearTimeout(p.timer)
        this.pending.delete(id)
      }
      throw new RpcError(`node ${node} is not reachable`, 'unreachable')
    }
    return result
  }

  handle(method: string, fn: RpcHandler): void {
    this.handlers.set(method, fn)
  }

  async acquire(key: string, holder: string, limit: number): Promise<boolean> {
    let ok: boolean
    if (!this.up) ok = await this.local.acquire(key, holder, limit)
    else {
      const now = Date.now()
      try {
        ok = (await this.cmd.eval(ACQUIRE, 1, this.key(`slots:${key}`), now, holder, now + this.ttlMs, limit, this.ttlMs * 2)) === 1
      } catch {
        ok = await this.local.acquire(key, holder, limit)
      }
    }
    // Slots taken locally during an outage are tracked too: the next refresh writes them to Redis.
    if (ok) {
      let set = this.held.get(key)
      if (!set) this.held.set(key, (set = new Set()))
      set.add(holder)
    }
    return ok
  }

  async release(key: string, holder: string): Promise<void> {
    const set = this.held.get(key)
    set?.delete(holder)
    if (set && set.size === 0) this.held.delete(key)
    await this.local.release(key, holder)
    if (this.up) await this.cmd.zrem(this.key(`slots:${key}`), holder).catch(() => {})
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (!this.up) return this.local.claim(key, ttlMs)
    try {
      return (await this.cmd.set(this.key(`claim:${key}`), this.instanceId, 'PX', ttlMs, 'NX')) === 'OK'
    } catch {
      return this.local.claim(key, ttlMs)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(new RpcError('cluster closed', 'unreachable'))
    }
    if (this.up) {
      const pipe = this.cmd.pipeline().del(this.key(`node:${this.nodeName}`))
      for (const [key, holders] of this.held) pipe.zrem(this.key(`slots:${key}`), ...holders)
      await pipe.exec().catch(() => {})
    }
    this.cmd.disconnect()
    this.sub.disconnect()
  }

  /** Announces this node (again); called once listening, when the public URL is final. */
  announce(): Promise<void> {
    return this.refresh()
  }

  private async refresh(): Promise<void> {
    if (!this.up) return
    const now = Date.now()
    const pipe = this.cmd.pipeline()
    pipe.set(this.key(`node:${this.nodeName}`), JSON.stringify({ url: this.publicUrl(), instanceId: this.instanceId }), 'PX', this.ttlMs)
    // Plain ZADD, not XX: after Redis lost its data (a restart) or an outage outlasted the TTL,
    // the slots still held here are written back instead of going uncounted until they close.
    // The refresh is built and sent in one go and `release` drops a holder from `held` before
    // its ZREM, so a released slot is not brought back. One ZADD per key with many members (in
    // chunks), not one per socket: otherwise every refresh costs Redis a command per open socket.
    const score = now + this.ttlMs
    for (const [key, holders] of this.held) {
      const slots = this.key(`slots:${key}`)
      let args: Array<string | number> = []
      for (const h of holders) {
        args.push(score, h)
        if (args.length >= REFRESH_CHUNK * 2) {
          pipe.zadd(slots, ...args)
          args = []
        }
      }
      if (args.length > 0) pipe.zadd(slots, ...args)
      pipe.pexpire(slots, this.ttlMs * 2)
    }
    await pipe.exec().catch((err: Error) => this.log.debug({ err: err.message }, 'cluster refresh failed'))
  }

  private async onMessage(channel: string, message: string): Promise<void> {
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      return
    }
    if (channel === this.replyChannel) {
      const r = parsed as RpcReply
      const p = this.pending.get(r.id)
      if (!p) return
      clearTimeout(p.timer)
      this.pending.delete(r.id)
      if (r.ok) p.resolve(r.result)
      else p.reject(new RpcError(r.error ?? 'remote error', 'remote', r.status))
      return
    }
    const req = parsed as RpcRequest
    const fn = this.handlers.get(req.method)
    let reply: RpcReply
    if (!fn) reply = { id: req.id, ok: false, error: `no handler for ${req.method}` }
    else {
      try {
        reply = { id: req.id, ok: true, result: await fn(req.params) }
      } catch (err) {
        const e = err as Error & { statusCode?: number }
        reply = { id: req.id, ok: false, error: e.message, ...(e.statusCode ? { status: e.statusCode } : {}) }
      }
    }
    await this.cmd.publish(req.reply, JSON.stringify(reply)).catch(() => {})
  }
}
