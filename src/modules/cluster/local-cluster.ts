/** The single-instance cluster: everything is local and in memory. */
import { randomUUID } from 'node:crypto'
import { RpcError, type Cluster, type RpcHandler } from './cluster.types.js'

export class LocalCluster implements Cluster {
  readonly instanceId = randomUUID()
  readonly distributed = false
  private readonly handlers = new Map<string, RpcHandler>()
  private readonly slots = new Map<string, Set<string>>()
  private readonly claims = new Map<string, number>()

  constructor(
    readonly nodeName: string,
    private readonly publicUrl: () => string,
  ) {}

  async nodeUrl(node: string): Promise<string | undefined> {
    return node === this.nodeName ? this.publicUrl() : undefined
  }

  async call(node: string, method: string, params: unknown): Promise<unknown> {
    if (node !== this.nodeName) throw new RpcError(`node ${node} is not reachable`, 'unreachable')
    const fn = this.handlers.get(method)
    if (!fn) throw new RpcError(`no handler for ${method}`, 'no_handler')
    return fn(params)
  }

  handle(method: string, fn: RpcHandler): void {
    this.handlers.set(method, fn)
  }

  async acquire(key: string, holder: string, limit: number): Promise<boolean> {
    let set = this.slots.get(key)
    if (!set) this.slots.set(key, (set = new Set()))
    if (set.has(holder)) return true
    if (set.size >= limit) return false
    set.add(holder)
    return true
  }

  async release(key: string, holder: string): Promise<void> {
    const set = this.slots.get(key)
    if (!set) return
    set.delete(holder)
    if (set.size === 0) this.slots.delete(key)
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now()
    const until = this.claims.get(key)
    if (until !== undefined && until > now) return false
    this.claims.set(key, now + ttlMs)
    if (this.claims.size > 10_000) for (const [k, u] of this.claims) if (u <= now) this.claims.delete(k)
    return true
  }

  async close(): Promise<void> {}
}
