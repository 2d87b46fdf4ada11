/**
 * The connection lifecycle shared by the console, channels and user-event sockets:
 * credentials → open → authenticate → ready, then on close either a full-jitter reconnect or,
 * after a terminal close code (see close-codes.ts) or a refused credential, a final `closed`.
 *
 * Token refresh is single-flight: the first `token expiring` (or expired) notice starts one
 * refresh (fetch a fresh token, send `auth` on the SAME socket, wait for the acknowledgement);
 * every notice that arrives meanwhile joins that refresh instead of starting another. The socket
 * is never closed for a refresh, so streaming has no gap.
 *
 * Subclasses implement the protocol: what credentials to fetch, how to authenticate, how to read
 * a frame; they call `authenticated()` / `authRejected()` when the server answers an auth.
 */
import { ReconnectScheduler, type BackoffOptions, type Clock } from './backoff.js'
import { describeClose, isTerminal } from './close-codes.js'
import { Emitter, type Handler, type Off } from './emitter.js'
import { WirehubHttpError } from './http.js'
import { WS_OPEN, type WebSocketCtor, type WebSocketLike } from './types.js'

export type SocketState = 'connecting' | 'authenticating' | 'ready' | 'reconnecting' | 'closed'

export interface OpenEvent {
  /** False for the first connection, true after every reconnect. */
  reconnected: boolean
}

export interface CloseEvent {
  code: number
  reason: string
  /** True when the SDK will reconnect (after `delayMs`). */
  willReconnect: boolean
  delayMs?: number
  /** The close-code table's meaning, when the code is documented. */
  meaning?: string
}

export interface SocketEvents {
  state: SocketState
  open: OpenEvent
  close: CloseEvent
  /** A fresh token was accepted on the open socket (no reconnect happened). */
  refresh: { count: number }
  error: Error
}

/** Counters an application (or a test) can read; they never reset. */
export interface SocketStats {
  /** Credential fetches (connects plus refreshes). */
  credentialFetches: number
  /** Completed token refreshes on an open socket. */
  tokenRefreshes: number
  /** Sockets opened (1 + reconnects). */
  connections: number
  reconnects: number
}

export interface SocketDeps {
  WebSocket: WebSocketCtor
  /** Extra constructor argument for Node's `ws` (e.g. `{ origin, headers }`); never passed in browsers. */
  wsOptions?: Record<string, unknown> | undefined
  backoff?: BackoffOptions | undefined
  clock: Clock
  random: () => number
  /** How long to wait for the server to acknowledge an auth before giving up on it (ms). Default 10 000. */
  authTimeoutMs?: number | undefined
}

/** Application-initiated close code (also used when the SDK gives up after a refused auth). */
const CLIENT_CLOSE = 1000

interface Waiter {
  resolve(): void
  reject(err: Error): void
}

export abstract class ReconnectingSocket<Events extends SocketEvents> {
  protected readonly events: Emitter<Events>
  protected ws: WebSocketLike | null = null
  private readonly scheduler: ReconnectScheduler
  private stateValue: SocketState = 'connecting'
  private stopped = false
  private everReady = false
  private refreshing: Promise<void> | null = null
  private authWaiter: Waiter | null = null
  private authTimer: unknown = null
  readonly stats: SocketStats = { credentialFetches: 0, tokenRefreshes: 0, connections: 0, reconnects: 0 }

  constructor(protected readonly deps: SocketDeps) {
    this.events = new Emitter<Events>()
    this.scheduler = new ReconnectScheduler(deps.backoff ?? {}, deps.clock, deps.random)
  }

  /* ------------------------------------------------------------ protocol hooks */

  /** The URL to open and the token to authenticate with (null: no auth, e.g. user events). */
  protected abstract credentials(): Promise<{ url: string; token: string | null }>
  /** Sends the auth frame for `token` on the current socket. */
  protected abstract sendAuth(token: string): void
  /** Handles one parsed inbound frame. */
  protected abstract onFrame(frame: unknown): void
  /** Called once the socket is ready (after the first connect and after every reconnect). */
  protected onReady(_ev: OpenEvent): void {}

  /* ---------------------------------------------------------------- public API */

  get state(): SocketState {
    return this.stateValue
  }

  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): Off {
    return this.events.on(event, handler)
  }

  /** Resolves once the socket is ready (immediately if it is); rejects if it closes for good first. */
  ready(): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve()
    if (this.stateValue === 'closed') return Promise.reject(new Error('socket is closed'))
    return new Promise((resolve, reject) => {
      const offState = this.events.on('state', (s) => {
        if (s === 'ready') {
          offState()
          resolve()
        } else if (s === 'closed') {
          offState()
          reject(new Error('socket closed before it was ready'))
        }
      })
    })
  }

  /** Closes the socket for good (no reconnect). */
  close(): void {
    if (this.stopped) return
    this.shutDown('client closed')
    this.events.emit('close', { code: CLIENT_CLOSE, reason: 'client closed', willReconnect: false })
  }

  /** Stops for good: no reconnect, pending auth fails, the socket (if any) is closed by us. */
  private shutDown(why: string): void {
    this.stopped = true
    this.scheduler.cancel()
    this.clearAuthTimer()
    this.failAuthWaiter(new Error('socket closed'))
    const ws = this.ws
    this.ws = null
    if (ws) {
      detach(ws)
      try {
        ws.close(CLIENT_CLOSE, why)
      } catch {
        // already closing
      }
    }
    this.setSocketState('closed')
  }

  /* ------------------------------------------------------------- for subclasses */

  /** Starts the first connection (subclass constructors call it once they are initialised). */
  protected start(): void {
    void this.connect()
  }

  /** Sends a JSON frame if the socket is open; returns whether it was written. */
  protected sendJson(frame: unknown): boolean {
    const ws = this.ws
    if (!ws || ws.readyState !== WS_OPEN) return false
    ws.send(JSON.stringify(frame))
    return true
  }

  protected get isReady(): boolean {
    return this.stateValue === 'ready'
  }

  /** The server accepted an auth (first one on this socket, or a refresh). */
  protected authenticated(): void {
    this.clearAuthTimer()
    const waiter = this.authWaiter
    this.authWaiter = null
    if (this.stateValue !== 'ready') {
      this.scheduler.reset()
      const ev: OpenEvent = { reconnected: this.everReady }
      this.everReady = true
      this.setSocketState('ready')
      this.onReady(ev)
      this.events.emit('open', ev)
    }
    waiter?.resolve()
  }

  /**
   * The server refused an auth. During a refresh the old token may still be valid, so only the
   * refresh fails; a refused first auth ends the socket (a new token would be refused too).
   */
  protected authRejected(message: string): void {
    if (this.authWaiter) {
      this.failAuthWaiter(new Error(`token refresh refused: ${message}`))
      return
    }
    if (this.stateValue === 'authenticating') {
      this.events.emit('error', new Error(`authentication refused: ${message}`))
      this.giveUp(4003, message)
    }
  }

  /**
   * Fetches a fresh token and re-authenticates on the same socket. Concurrent calls share one
   * in-flight refresh. Resolves once the server acknowledged the new token.
   */
  refreshToken(): Promise<void> {
    if (this.refreshing) return this.refreshing
    const ws = this.ws
    if (!ws || this.stateValue !== 'ready') return Promise.resolve()
    const p = (async () => {
      const creds = await this.fetchCredentials()
      if (this.ws !== ws || creds.token === null) return
      const acked = this.waitForAuth()
      this.sendAuth(creds.token)
      await acked
      this.stats.tokenRefreshes++
      this.events.emit('refresh', { count: this.stats.tokenRefreshes })
    })()
    this.refreshing = p
    p.then(
      () => {
        this.refreshing = null
      },
      (err: unknown) => {
        this.refreshing = null
        this.events.emit('error', asError(err))
      },
    )
    return p
  }

  /* ------------------------------------------------------------------ lifecycle */

  private async fetchCredentials(): Promise<{ url: string; token: string | null }> {
    this.stats.credentialFetches++
    return this.credentials()
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    this.setSocketState(this.everReady ? 'reconnecting' : 'connecting')
    let creds: { url: string; token: string | null }
    try {
      creds = await this.fetchCredentials()
    } catch (err) {
      if (this.stopped) return
      const e = asError(err)
      this.events.emit('error', e)
      if (e instanceof WirehubHttpError && e.terminal) this.giveUp(0, e.message)
      else this.scheduleReconnect(0, e.message)
      return
    }
    if (this.stopped) return
    let ws: WebSocketLike
    try {
      ws = this.deps.wsOptions ? new this.deps.WebSocket(creds.url, this.deps.wsOptions) : new this.deps.WebSocket(creds.url)
    } catch (err) {
      this.events.emit('error', asError(err))
      this.giveUp(0, 'invalid socket URL')
      return
    }
    this.ws = ws
    this.stats.connections++
    if (this.everReady) this.stats.reconnects++
    ws.onopen = () => {
      if (this.ws !== ws) return
      if (creds.token === null) {
        this.setSocketState('authenticating')
        this.authenticated()
        return
      }
      this.setSocketState('authenticating')
      this.startAuthTimer()
      this.sendAuth(creds.token)
    }
    ws.onmessage = (ev: { data: unknown }) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return
      let frame: unknown
      try {
        frame = JSON.parse(ev.data)
      } catch {
        return
      }
      this.onFrame(frame)
    }
    let refusal: HandshakeRefusedError | null = null
    ws.onerror = (ev: { message?: string; error?: unknown }) => {
      if (this.ws !== ws) return
      const err = ev?.error instanceof Error ? ev.error : new Error(ev?.message || 'websocket error')
      refusal = handshakeRefusal(err, creds.url)
      this.events.emit('error', refusal ?? err)
    }
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      if (this.ws !== ws) return
      this.ws = null
      detach(ws)
      // A refused handshake is answered the same way on every attempt: stop, and say why.
      if (refusal) this.giveUp(1006, refusal.message)
      else this.onSocketClosed(ev?.code ?? 1006, ev?.reason ?? '')
    }
  }

  private onSocketClosed(code: number, reason: string): void {
    this.clearAuthTimer()
    this.failAuthWaiter(new Error(`socket closed (${code})`))
    if (this.stopped) return
    if (isTerminal(code)) this.giveUp(code, reason)
    else this.scheduleReconnect(code, reason)
  }

  private scheduleReconnect(code: number, reason: string): void {
    const delayMs = this.scheduler.schedule(() => void this.connect())
    this.setSocketState('reconnecting')
    const meaning = describeClose(code)?.meaning
    this.events.emit('close', { code, reason, willReconnect: true, delayMs, ...(meaning ? { meaning } : {}) })
  }

  /** Ends the socket without reconnecting and reports why. */
  private giveUp(code: number, reason: string): void {
    this.shutDown('giving up')
    const meaning = describeClose(code)?.meaning
    this.events.emit('close', { code, reason, willReconnect: false, ...(meaning ? { meaning } : {}) })
  }

  private waitForAuth(): Promise<void> {
    this.failAuthWaiter(new Error('superseded'))
    return new Promise<void>((resolve, reject) => {
      this.authWaiter = { resolve, reject }
      this.startAuthTimer()
    })
  }

  private startAuthTimer(): void {
    this.clearAuthTimer()
    const ms = this.deps.authTimeoutMs ?? 10_000
    this.authTimer = this.deps.clock.setTimeout(() => {
      this.authTimer = null
      if (this.authWaiter) {
        this.failAuthWaiter(new Error('the server did not acknowledge the token refresh'))
      } else if (this.stateValue === 'authenticating' && this.ws) {
        // No answer to the first auth: drop this socket and try again with backoff.
        const ws = this.ws
        this.ws = null
        detach(ws)
        try {
          ws.close(CLIENT_CLOSE, 'auth timeout')
        } catch {
          // already closing
        }
        this.scheduleReconnect(4001, 'no answer to auth')
      }
    }, ms)
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) this.deps.clock.clearTimeout(this.authTimer)
    this.authTimer = null
  }

  private failAuthWaiter(err: Error): void {
    const w = this.authWaiter
    this.authWaiter = null
    if (w) {
      this.clearAuthTimer()
      w.reject(err)
    }
  }

  private setSocketState(s: SocketState): void {
    if (this.stateValue === s) return
    this.stateValue = s
    this.events.emit('state', s)
  }
}

/**
 * The server refused the websocket handshake with an HTTP status (seen in Node, where `ws`
 * reports "Unexpected server response: 403"; a browser only sees a failed connection).
 * 401/403/404 are terminal: retrying would be refused the same way.
 */
export class HandshakeRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`${url}: the server refused the websocket handshake with HTTP ${status}: ${HANDSHAKE_REASONS[status]}`)
    this.name = 'HandshakeRefusedError'
  }
}

const HANDSHAKE_REASONS: Record<number, string> = {
  401: 'not authenticated (user events: send an application key if the server requires one)',
  403: "the Origin is not allowed (set the client's `origin` to an origin in the server's ALLOWED_ORIGINS or its PUBLIC_URL's)",
  404: 'no socket at this address (wrong URL, or the server or resource was deleted)',
}

function handshakeRefusal(err: Error, url: string): HandshakeRefusedError | null {
  const status = Number(/Unexpected server response: (\d{3})/.exec(err.message)?.[1])
  return status in HANDSHAKE_REASONS ? new HandshakeRefusedError(status, url.replace(/\?.*$/, '')) : null
}

function detach(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onclose = null
  // A no-op, not null: Node's `ws` emits 'error' (e.g. "closed before the connection was
  // established") after we let go of a socket, and an EventEmitter error without a listener throws.
  ws.onerror = noop
}

function noop(): void {}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
