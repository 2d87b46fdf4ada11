/**
 * End-of-turn flushing for corked sockets. A connection corks its TCP socket at its first write
 * of an event-loop turn and registers here; every registered socket is uncorked in one
 * `process.nextTick` callback, so the frames a socket received during the turn (a batch of
 * readings, a dashboard following many devices, a burst of console lines) leave in one
 * `writev(2)`, each still its own websocket frame, and none waits for a timer.
 *
 * nextTick rather than queueMicrotask: Node runs the tick queue only after the microtask queue
 * has drained, so publications made from several promise continuations of one turn (a group
 * commit resolving many requests at once) still share the flush. setImmediate would merge even
 * more (every I/O callback of a poll phase) but holds the first frames back while the rest of
 * the phase runs, which is added latency.
 */

export interface TurnFlushable {
  /** Uncorks whatever the connection corked during this turn. */
  flushTurn(): void
}

/** `turn`: coalesce per event-loop turn (default); `off`: one write per frame, as ws does. */
export type WriteCoalescing = 'turn' | 'off'

let queue: TurnFlushable[] = []
let spare: TurnFlushable[] = []
let scheduled = false

function flushAll(): void {
  scheduled = false
  // Swap before iterating: an uncork can run code that writes again (it then joins the next turn).
  const list = queue
  queue = spare
  spare = list
  for (let i = 0; i < list.length; i++) list[i]!.flushTurn()
  list.length = 0
}

/** Registers a connection that corked its socket; it is flushed at the end of the current turn. */
export function flushAtEndOfTurn(conn: TurnFlushable): void {
  queue.push(conn)
  if (!scheduled) {
    scheduled = true
    process.nextTick(flushAll)
  }
}
