/**
 * End-of-turn flushing for corked sockets. A connection corks its TCP socket at its first write
 * of a turn and registers here; every registered socket is uncorked in one callback, so the
 * frames a socket received meanwhile (a batch of readings, a dashboard following many devices, a
 * burst of console lines) leave in one `writev(2)`, each still its own websocket frame. No timer
 * is involved in either mode:
 *
 * - `tick` (default): `process.nextTick`, i.e. as soon as the current callback and its promise
 *   continuations are done. Node runs the tick queue only after the microtask queue has drained,
 *   so publications made from several continuations of one callback (a group commit resolving
 *   many requests at once) still share the flush; queueMicrotask would not guarantee that.
 *   Nothing waits for unrelated work.
 * - `immediate`: `setImmediate`, after every I/O callback of the current poll phase: frames of
 *   publications that arrived together in separate requests share a write too (fewer syscalls
 *   under load), but the first frames wait until the phase's other callbacks have run.
 * - `off`: no corking; every frame is its own write, as with plain ws.
 */

export type WriteCoalescing = 'tick' | 'immediate' | 'off'

export interface TurnFlushable {
  /** Uncorks whatever the connection corked during this turn. */
  flushTurn(): void
}

class FlushQueue {
  private queue: TurnFlushable[] = []
  private spare: TurnFlushable[] = []
  private scheduled = false
  private readonly run = () => this.flushAll()

  constructor(private readonly schedule: (fn: () => void) => void) {}

  add(conn: TurnFlushable): void {
    this.queue.push(conn)
    if (!this.scheduled) {
      this.scheduled = true
      this.schedule(this.run)
    }
  }

  private flushAll(): void {
    this.scheduled = false
    // Swap before iterating: an uncork can run code that writes again (it joins the next flush).
    const list = this.queue
    this.queue = this.spare
    this.spare = list
    for (let i = 0; i < list.length; i++) list[i]!.flushTurn()
    list.length = 0
  }
}

const queues = {
  tick: new FlushQueue((fn) => process.nextTick(fn)),
  immediate: new FlushQueue((fn) => setImmediate(fn)),
}

/** Registers a connection that corked its socket; it is uncorked at the end of the turn. */
export function flushAtEndOfTurn(conn: TurnFlushable, mode: Exclude<WriteCoalescing, 'off'>): void {
  queues[mode].add(conn)
}
