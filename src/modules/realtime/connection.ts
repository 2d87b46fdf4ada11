/**
 * One websocket as the hub sees it: its subscriptions, counters and a bounded outbound backlog
 * with two lanes. Droppable messages (stats, telemetry samples, system status) are held back
 * once the socket's backlog passes the soft limit and collapsed to the latest per key; the client
 * is told how many were collapsed when it catches up. Must-deliver messages (console lines,
 * status, alerts) are always written, but one that would push the backlog past the hard limit
 * closes the socket with SLOW_CONSUMER instead, so a client that stops reading costs at most
 * `hardLimitBytes` of memory, whatever the publish rate.
 *
 * Writes are coalesced per event-loop turn: a socket's pre-built frames of one turn are held and
 * written at the end of the turn (`write-coalescing.ts` says when that is), so N frames for one
 * socket cost one `writev(2)` instead of N `write(2)`s. A socket that got a single frame writes
 * it with a plain `write`, as without coalescing: holding the frame's buffer costs a field, where
 * corking the stream would queue and re-dispatch every frame through Node's write buffer. Frames
 * that go through ws itself (permessage-deflate, or while ws has its own frames queued) cork the
 * TCP socket for the turn instead, after the held frames, so the order is kept. The backlog the
 * lanes see excludes what this turn holds or has corked on a socket that was empty at its first
 * frame: without coalescing those bytes would have gone straight to the kernel, so the limits
 * behave as before. A bounded amount is held that way (see TURN_MAX_BYTES); past it the turn's
 * frames are written out early and holding resumes.
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { CLOSE, type CloseCode } from './close-codes.js'
import { prepareFrame, type PreparedFrame } from './frame.js'
import { listenWith, type SocketEvents } from './hub-socket.js'
import type { Subscription } from './subscription.js'
import { flushAtEndOfTurn, type TurnFlushable, type WriteCoalescing } from './write-coalescing.js'

export type Lane = 'droppable' | 'reliable'

export interface BacklogLimits {
  /** Above this many buffered bytes, droppable messages are collapsed instead of written. */
  softLimitBytes: number
  /** A must-deliver message that would exceed this closes the socket (SLOW_CONSUMER). */
  hardLimitBytes: number
}

export interface OutboundOptions extends BacklogLimits {
  /** When the frames corked on a socket are written: `tick` (default), `immediate`, or `off`. */
  coalesceWrites?: WriteCoalescing
}

/**
 * Bytes (and frames) a turn may cork on an empty socket before they are written early: bounds
 * what the backlog check does not see, and keeps a writev under the kernel's IOV_MAX (1024).
 * The byte bound is also at most the soft (and hard) limit, so a reader whose kernel buffer has
 * just filled is found at most one frame past the soft limit, as without coalescing.
 */
const TURN_MAX_BYTES = 64 * 1024
const TURN_MAX_FRAMES = 512

/** How soon a collapsed backlog below the socket's high-water mark is looked at again. */
const DRAIN_RECHECK_MS = 10

/** What a connection reports to the hub that holds it. */
export interface ConnectionOwner {
  disconnected(conn: Connection): void
  /** A droppable message was collapsed or skipped. */
  collapsedOne(): void
}

/** The parts of ws's private state the raw-frame fast path needs (ws 8 has no public API for it). */
interface WsInternals {
  _socket?: Socket
  _sender?: { _state: number; _queue: unknown[] }
  _receiver?: { _buffers: Buffer[] }
}

let nextId = 1

/** What the connection hands on of its socket's inbound side (the session). */
export interface ConnectionInbound {
  frame(data: unknown, isBinary: boolean): void
  ping(): void
  /** Called once when the socket has closed, with its close code. */
  ended(code: number): void
}

export class Connection<M = unknown> implements TurnFlushable, SocketEvents {
  readonly id = nextId++
  /** The hub's subscriptions of this connection (null: none; an array sized to what it holds). */
  subs: Subscription[] | null = null
  /** Messages written, and droppable ones collapsed or skipped. */
  messagesOut = 0
  collapsed = 0
  /** Sequence of the last publication written, so overlapping subscriptions deliver once. */
  lastSeq = 0
  alive = true
  closed = false
  /** Set by the protocol adapter once the socket has authenticated (metrics, sweeps). */
  authenticated = false
  /** The credential (`k:<keyId>` / `s:<sessionId>`) the socket authenticated with; re-checked for revocation. */
  credential: string | null = null
  /** The close code wirehub sent, if wirehub closed the socket. */
  closeCode: number | null = null
  /** Protocol-specific notice sent after droppable messages were collapsed (null: none). */
  collapsedNotice: ((count: number) => string | null) | null = null
  private readonly raw: boolean
  private readonly socket: Socket | undefined
  private pending: Map<string, PreparedFrame> | null = null
  private collapsedSinceNotice = 0
  private waitingForDrain = false
  private readonly coalesce: WriteCoalescing
  /** The socket is corked until the end of this turn (frames that went through ws). */
  private corked = false
  /** It was empty when corked: what it holds now is this turn's frames, not a backlog. */
  private corkedEmpty = false
  /** This turn's first pre-built frame, held for the end of the turn, and any that followed it. */
  private held: Buffer | null = null
  private heldMore: Buffer[] | null = null
  private heldBytes = 0
  /** The socket was empty when the first frame was held: the held bytes are not a backlog. */
  private heldOnEmpty = false
  private turnFrames = 0
  /** Registered for the end-of-turn flush. */
  private flushQueued = false
  private readonly turnMaxBytes: number

  /** Receives the socket's frames, pings and close (the session), or null. */
  inbound: ConnectionInbound | null = null

  /**
   * Per-socket memory matters at tens of thousands of idle sockets: the connection shares its
   * owner and limits with every other one and takes its socket's events without listeners
   * (hub-socket.ts).
   */
  constructor(
    readonly ws: WebSocket,
    readonly kind: string,
    public meta: M,
    private readonly limits: OutboundOptions,
    private readonly owner: ConnectionOwner,
  ) {
    const internals = ws as unknown as WsInternals
    this.socket = internals._socket
    this.raw = !!this.socket && !ws.extensions.includes('permessage-deflate')
    this.coalesce = this.socket ? (limits.coalesceWrites ?? 'tick') : 'off'
    this.turnMaxBytes = Math.min(TURN_MAX_BYTES, limits.softLimitBytes, limits.hardLimitBytes)
    listenWith(ws, this)
    releaseUpgradeContext(ws, this.socket)
  }

  socketMessage(data: unknown, isBinary: boolean): void {
    this.inbound?.frame(data, isBinary)
    // ws's receiver queues inbound chunks in an array that keeps the backing store it grew to
    // (17 slots on the first chunk) for the socket's life; an emptied queue is swapped for a
    // fresh one, so a socket that sent its auth and went quiet does not keep it.
    const receiver = (this.ws as unknown as WsInternals)._receiver
    if (receiver !== undefined && receiver._buffers.length === 0) receiver._buffers = []
  }

  socketPing(): void {
    this.inbound?.ping()
  }

  socketPong(): void {
    this.alive = true
  }

  socketClose(code: number): void {
    this.dispose(code)
  }

  /** Bytes waiting to be taken by the kernel (this turn's frames on an empty socket excluded). */
  get bufferedAmount(): number {
    const buffered = this.ws.bufferedAmount + (this.heldOnEmpty ? 0 : this.heldBytes)
    return this.corkedEmpty ? buffered - this.socket!.writableLength : buffered
  }

  /** Writes a prepared frame on a lane; returns false when it was not written now. */
  send(frame: PreparedFrame, lane: Lane, collapseKey = ''): boolean {
    if (this.closed || this.ws.readyState !== 1) return false
    const buffered = this.bufferedAmount
    if (lane === 'droppable') {
      if (buffered > this.limits.softLimitBytes || this.pending) {
        this.collapse(collapseKey, frame)
        return false
      }
    } else if (buffered + frame.bytes.length > this.limits.hardLimitBytes) {
      this.close(CLOSE.SLOW_CONSUMER)
      return false
    }
    this.write(frame)
    return true
  }

  /** Sends a protocol reply (auth results, errors, pongs) on the must-deliver lane. */
  sendText(text: string): boolean {
    return this.send(prepareFrame(text), 'reliable')
  }

  close(code: CloseCode, detail?: string): void {
    if (this.closed) return
    // The close frame must follow the frames this turn holds.
    this.writeHeld()
    this.closed = true
    this.closeCode = code.code
    try {
      this.ws.close(code.code, (detail ?? code.reason).slice(0, 120))
    } catch {
      this.ws.terminate()
    }
    // A client that does not read never sees the close frame; do not wait for it forever.
    setTimeout(() => this.ws.terminate(), 5000).unref()
    this.dispose()
  }

  terminate(): void {
    // Frames written earlier in this turn go out first, as they would have without corking.
    this.flushTurn()
    this.closed = true
    this.ws.terminate()
    this.dispose()
  }

  /** Writes what the turn holds and uncorks the socket (end of turn, or early at the bounds). */
  flushTurn(): void {
    this.flushQueued = false
    this.writeHeld()
    this.turnFrames = 0
    if (!this.corked) return
    this.corked = false
    this.corkedEmpty = false
    this.socket!.uncork()
  }

  private write(frame: PreparedFrame): void {
    const sender = (this.ws as unknown as WsInternals)._sender
    // The raw path is only safe when ws has nothing of its own queued (it queues only while
    // compressing or reading a Blob); otherwise frames could interleave.
    const raw = this.raw && sender !== undefined && sender._state === 0 && sender._queue.length === 0
    if (this.coalesce === 'off') {
      if (raw) this.socket!.write(frame.bytes)
      else this.ws.send(frame.text)
    } else if (raw) {
      this.hold(frame.bytes)
    } else {
      // Through ws: the held frames go first, then ws's frames join the corked socket.
      this.writeHeld()
      this.corkForTurn()
      this.ws.send(frame.text)
    }
    this.messagesOut++
    if (this.coalesce === 'off') return
    const turnBytes = this.heldBytes + (this.corkedEmpty ? this.socket!.writableLength : 0)
    if ((this.heldOnEmpty || this.corkedEmpty) && (++this.turnFrames >= TURN_MAX_FRAMES || turnBytes >= this.turnMaxBytes)) {
      // Hand what the turn has so far to the kernel; the rest of the turn is held again and the
      // backlog check sees whatever the kernel did not take.
      const socket = this.socket!
      this.writeHeld()
      if (this.corked) {
        socket.uncork()
        socket.cork()
        this.corkedEmpty = socket.writableLength === 0
      }
      this.turnFrames = 0
    }
  }

  private hold(bytes: Buffer): void {
    if (this.held === null) {
      this.held = bytes
      this.heldOnEmpty = this.corked ? this.corkedEmpty : this.socket!.writableLength === 0
      this.queueFlush()
    } else if (this.heldMore === null) {
      this.heldMore = [bytes]
    } else {
      this.heldMore.push(bytes)
    }
    this.heldBytes += bytes.length
  }

  /** Writes the held frames: one `write`, or one `writev` when the turn held several. */
  private writeHeld(): void {
    const first = this.held
    if (first === null) return
    const more = this.heldMore
    this.held = null
    this.heldMore = null
    this.heldBytes = 0
    this.heldOnEmpty = false
    const socket = this.socket!
    // ws may have sent its own close frame meanwhile (a peer's close read in the same turn as
    // the frames were held): nothing may follow it on the wire.
    if (socket.destroyed || this.ws.readyState !== 1) return
    if (more === null) {
      socket.write(first)
      return
    }
    socket.cork()
    socket.write(first)
    for (let i = 0; i < more.length; i++) socket.write(more[i]!)
    socket.uncork()
  }

  private corkForTurn(): void {
    if (this.corked) return
    const socket = this.socket!
    if (socket.destroyed) return
    socket.cork()
    this.corked = true
    this.corkedEmpty = socket.writableLength === 0
    this.queueFlush()
  }

  private queueFlush(): void {
    if (this.flushQueued) return
    this.flushQueued = true
    flushAtEndOfTurn(this, this.coalesce as Exclude<WriteCoalescing, 'off'>)
  }

  private collapse(key: string, frame: PreparedFrame): void {
    if (!this.pending) this.pending = new Map()
    if (this.pending.has(key)) {
      this.collapsed++
      this.owner.collapsedOne()
      this.collapsedSinceNotice++
      this.pending.delete(key) // re-insert keeps the map ordered by latest arrival
    } else if (this.pending.size >= 1024) {
      // Bounded: with more distinct keys than this, the oldest pending sample is dropped.
      this.pending.delete(this.pending.keys().next().value as string)
      this.collapsed++
      this.owner.collapsedOne()
      this.collapsedSinceNotice++
    }
    this.pending.set(key, frame)
    if (!this.waitingForDrain && this.socket) this.waitForRoom()
  }

  /**
   * Flushes the collapsed samples once the backlog is back under the soft limit. 'drain' only
   * comes after the socket passed its own high-water mark (64 KiB since Node 22), so a backlog
   * between a smaller soft limit and that mark is looked at again on a short timer instead.
   */
  private waitForRoom(): void {
    this.waitingForDrain = true
    if (this.socket!.writableNeedDrain) this.socket!.once('drain', () => this.flushPending())
    else setTimeout(() => this.flushPending(), DRAIN_RECHECK_MS)
  }

  private flushPending(): void {
    this.waitingForDrain = false
    const pending = this.pending
    // A socket whose close handshake has begun (the peer's close was answered) takes no data.
    if (!pending || this.closed || this.ws.readyState !== 1) {
      this.pending = null
      return
    }
    if (this.bufferedAmount > this.limits.softLimitBytes) {
      this.waitForRoom()
      return
    }
    this.pending = null
    if (this.collapsedSinceNotice > 0 && this.collapsedNotice) {
      const notice = this.collapsedNotice(this.collapsedSinceNotice)
      if (notice) this.write(prepareFrame(notice))
    }
    this.collapsedSinceNotice = 0
    for (const frame of pending.values()) this.write(frame)
  }

  private disposed = false

  private dispose(code?: number): void {
    this.closed = true
    this.pending = null
    this.owner.disconnected(this as Connection)
    // Only the socket's own 'close' carries the code the session reports.
    if (code !== undefined && !this.disposed) {
      this.disposed = true
      this.inbound?.ended(code)
    }
  }
}

const ignoreError = (): void => {}

/**
 * Lets the upgrade's HTTP objects be collected. @fastify/websocket leaves an 'error' listener on
 * every socket that closes over the upgrade's Fastify request and reply (and through them the
 * IncomingMessage, a ServerResponse and a child logger), and the TCP socket still points at that
 * ServerResponse (`_httpMessage`): several KiB per idle socket held for its whole life. Runs
 * first thing in every protocol adapter, so the only 'error' listener present is that one. ws
 * closes the socket after emitting 'error' (a peer's protocol violation), and 'close' disposes
 * the connection, so nothing more is needed than a listener that keeps 'error' from throwing.
 */
function releaseUpgradeContext(ws: WebSocket, socket: Socket | undefined): void {
  // Added before the others are removed: removing an event's last listener deletes its key,
  // which turns the emitter's listener table into a dictionary (hundreds of bytes per socket).
  const previous = ws.listeners('error') as Array<(...args: unknown[]) => void>
  ws.on('error', ignoreError)
  for (const l of previous) ws.removeListener('error', l)
  if (socket) (socket as Socket & { _httpMessage?: unknown })._httpMessage = null
}
