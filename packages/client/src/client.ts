/**
 * `WirehubClient`: one object per wirehub base URL and credential (a client API key, or the
 * browser's session cookie). It hands out the sockets: one console per server, one channels
 * socket, user-event sockets; each reconnects on its own and is closed by `client.close()`.
 *
 *   // Node
 *   import WebSocket from 'ws'
 *   const client = new WirehubClient({ baseUrl: 'http://127.0.0.1:3000', apiKey, WebSocket })
 *   // Browser (dashboard on the same origin, logged in)
 *   const client = new WirehubClient()
 */
import { DEFAULT_BACKOFF, systemClock, type BackoffOptions, type Clock } from './backoff.js'
import { ChannelsSocket, type ChannelsOptions } from './channels.js'
import { ConsoleSocket } from './console.js'
import { DeviceCommands } from './commands.js'
import { Rest, type FetchLike } from './http.js'
import type { SocketDeps } from './socket.js'
import type { WebSocketCtor } from './types.js'
import { UserEventsSocket, userEventsWsOptions, type UserEventsOptions } from './user-events.js'

export interface WirehubClientOptions {
  /** `http(s)://host[:port]` of wirehub. Default in browsers: the page's origin. */
  baseUrl?: string
  /** A client API key (`Authorization: Bearer`). Without one, the browser session cookie is used. */
  apiKey?: string
  /** WebSocket constructor: the `ws` package in Node. Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketCtor
  /** Default: `globalThis.fetch`. */
  fetch?: FetchLike
  /** Reconnect backoff window: base (default 500 ms) and cap (default 30 s). */
  backoff?: BackoffOptions
  /**
   * Origin header for console/channel sockets opened from Node with an injected `WebSocket`
   * (`ws`). Default: the origin of `baseUrl` (wirehub always accepts its own PUBLIC_URL's origin);
   * `false` sends none. Browsers set Origin themselves and ignore this.
   */
  origin?: string | false
  /** How long to wait for the server to acknowledge an auth (ms). Default 10 000. */
  authTimeoutMs?: number
  /** For tests: timers and random source. */
  clock?: Clock
  random?: () => number
}

export class WirehubClient {
  readonly rest: Rest
  private readonly deps: SocketDeps
  private readonly consoles = new Map<string, ConsoleSocket>()
  private channelsSocket: ChannelsSocket | null = null
  private readonly userSockets = new Set<UserEventsSocket>()
  /** Device commands: send, get, list, cancel, subscribe, result (state changes come over `channels()`). */
  readonly commands: DeviceCommands

  constructor(opts: WirehubClientOptions = {}) {
    const g = globalThis as { WebSocket?: WebSocketCtor; fetch?: FetchLike; location?: { origin?: string } }
    const baseUrl = opts.baseUrl ?? g.location?.origin
    if (!baseUrl) throw new TypeError('WirehubClient: baseUrl is required outside a browser')
    const WebSocket = opts.WebSocket ?? g.WebSocket
    if (!WebSocket) throw new TypeError('WirehubClient: no WebSocket available; pass the `ws` package as options.WebSocket')
    const fetchFn = opts.fetch ?? (g.fetch ? g.fetch.bind(globalThis) : undefined)
    if (!fetchFn) throw new TypeError('WirehubClient: no fetch available; pass options.fetch')
    this.rest = new Rest({ baseUrl, apiKey: opts.apiKey, fetch: fetchFn })
    this.deps = {
      WebSocket,
      wsOptions: socketOrigin(opts, baseUrl, g.location?.origin !== undefined),
      backoff: { ...DEFAULT_BACKOFF, ...opts.backoff },
      clock: opts.clock ?? systemClock,
      random: opts.random ?? Math.random,
      authTimeoutMs: opts.authTimeoutMs,
    }
    this.commands = new DeviceCommands(this.rest, () => this.channels())
  }

  /** The console of a server (UUID or short id); one socket per server, reused until closed. */
  console(serverId: string): ConsoleSocket {
    const existing = this.consoles.get(serverId)
    if (existing && existing.state !== 'closed') return existing
    const sock = new ConsoleSocket(this.deps, this.rest, serverId)
    this.consoles.set(serverId, sock)
    return sock
  }

  /** The IoT channels socket; one per client, reused until closed. */
  channels(opts: ChannelsOptions = {}): ChannelsSocket {
    if (this.channelsSocket && this.channelsSocket.state !== 'closed') return this.channelsSocket
    this.channelsSocket = new ChannelsSocket(this.deps, this.rest, opts)
    return this.channelsSocket
  }

  /**
   * A user events socket at `url` (`ws://host:<USER_EVENTS_PORT>` or a path such as `/ws/users`
   * resolved against the base URL). In Node, `origin` must match the server's allow-list.
   */
  userEvents(url: string, opts: UserEventsOptions = {}): UserEventsSocket {
    const sock = new UserEventsSocket({ ...this.deps, wsOptions: userEventsWsOptions(opts) }, this.rest.socketUrl(url), opts)
    this.userSockets.add(sock)
    sock.on('state', (s) => {
      if (s === 'closed') this.userSockets.delete(sock)
    })
    return sock
  }

  /** Closes every socket this client opened. */
  close(): void {
    for (const c of this.consoles.values()) c.close()
    this.consoles.clear()
    this.channelsSocket?.close()
    this.channelsSocket = null
    for (const u of [...this.userSockets]) u.close()
    this.userSockets.clear()
  }
}

/** `{ origin }` for `ws` in Node: the configured one, else the base URL's; none in a browser page. */
function socketOrigin(opts: WirehubClientOptions, baseUrl: string, inBrowser: boolean): { origin: string } | undefined {
  if (opts.origin === false || inBrowser || !opts.WebSocket) return undefined
  if (opts.origin) return { origin: opts.origin }
  try {
    return { origin: new URL(baseUrl).origin }
  } catch {
    return undefined
  }
}
