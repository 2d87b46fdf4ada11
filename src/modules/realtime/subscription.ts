/**
 * A subscription of one connection to one topic, with what was compiled at subscribe time: the
 * encoding variant (e.g. a sorted metric subset, shared by every subscriber asking for the same
 * subset), an optional predicate (e.g. severity), and an optional minimum interval per key
 * (`frequency`), which is the only per-recipient state the hub keeps.
 */
import type { Connection } from './connection.js'
import type { PreparedFrame } from './frame.js'

export interface SubscribeOptions {
  /** Encoding variant; '' means the full message. */
  variant?: string
  /** Compiled filter; omit for unfiltered subscribers (no per-recipient evaluation). */
  filter?: (payload: unknown) => boolean
  /** At most one message per key per this many ms (0: real time); the latest is kept. */
  minIntervalMs?: number
  /** Protocol label to find the subscription again (e.g. "telemetry|1"). */
  tag?: string
}

export interface ThrottleState {
  last: number
  pending: PreparedFrame | null
  timer: NodeJS.Timeout | null
}

export interface Subscription {
  readonly conn: Connection
  /** The topic (the hub swaps in the string its other subscribers of the topic share). */
  topic: string
  readonly variant: string
  readonly filter: ((payload: unknown) => boolean) | undefined
  readonly minIntervalMs: number
  tag: string
  throttle: Map<string, ThrottleState> | null
}

/** A subscription not yet attached to the hub (`Hub.resubscribe` attaches it). */
export function subscription(conn: Connection, topic: string, o: SubscribeOptions = {}): Subscription {
  return { conn, topic, variant: o.variant ?? '', filter: o.filter, minIntervalMs: o.minIntervalMs ?? 0, tag: o.tag ?? topic, throttle: null }
}
