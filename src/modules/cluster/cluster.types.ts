/**
 * What one wirehub instance needs from the others when several run as one (REDIS_URL): where a
 * node is reachable, calls routed to the node that owns a resource (power actions on a game
 * server), cluster-wide slot limits (connections per user and in total), and "exactly one
 * instance does this" decisions (device status transitions). A memory implementation serves a
 * single instance with the same interface, so modules never branch on the deployment.
 */
export { DEFAULT_REDIS_PREFIX } from '../../config/config.schema.js'

export type RpcHandler = (params: unknown) => Promise<unknown>

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: 'no_handler' | 'timeout' | 'unreachable' | 'remote',
    readonly statusCode?: number,
  ) {
    super(message)
    this.name = 'RpcError'
  }
}

export interface Cluster {
  readonly nodeName: string
  readonly instanceId: string
  /** False when this instance is the whole cluster (no Redis): nothing is shared with another. */
  readonly distributed: boolean
  /** Public base URL of a node (its instance's PUBLIC_URL), if it is alive. */
  nodeUrl(node: string): Promise<string | undefined>
  /** Runs `method` on the instance that is `node` (locally when it is this one). */
  call(node: string, method: string, params: unknown, timeoutMs?: number): Promise<unknown>
  handle(method: string, fn: RpcHandler): void
  /** Takes one of `limit` slots under `key` for `holder`; false when all are taken. */
  acquire(key: string, holder: string, limit: number): Promise<boolean>
  release(key: string, holder: string): Promise<void>
  /** True for exactly one caller per `key` within `ttlMs`, across the cluster. */
  claim(key: string, ttlMs: number): Promise<boolean>
  close(): Promise<void>
}
