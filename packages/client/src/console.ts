/**
 * A game-server console (Pterodactyl/Wings protocol): credentials from
 * `GET /api/client/servers/:server/websocket`, frames `{event, args}`, `auth` with the token,
 * `token expiring`/`token expired` answered by a re-auth on the same socket.
 *
 * The server streams everything to an authenticated console socket, so after a reconnect the
 * console is "resubscribed" simply by authenticating again; the server then re-sends `status`.
 * wirehub numbers console lines (`seq`): after a reconnect the first `auth` carries the last
 * number seen and the server replays what was missed before streaming on (no gap, no repeat).
 */
import type { Handler, Off } from './emitter.js'
import type { Rest } from './http.js'
import { ReconnectingSocket, type SocketDeps, type SocketEvents } from './socket.js'
import type { ConsoleFrame, ConsoleStats, PowerAction, ServerState } from './types.js'

export interface ConsoleEvents extends SocketEvents {
  console: string
  stats: ConsoleStats
  status: ServerState
  /** `daemon error` (details only for tokens with admin.websocket.errors). */
  daemonError: string
  daemonMessage: string
  /** The server throttled one of our frames; args[0] names the event. */
  throttled: string
  /** `jwt error`: a frame was refused for lack of a valid token. */
  jwtError: string
  /** Every frame as received (including the ones above), for events this SDK does not model. */
  frame: ConsoleFrame
}

export class ConsoleSocket extends ReconnectingSocket<ConsoleEvents> {
  /** The number of the last console line received (0: none yet, or a server without numbers). */
  lastSeq = 0

  constructor(
    deps: SocketDeps,
    private readonly rest: Rest,
    /** Server UUID or 8-character short id. */
    readonly serverId: string,
  ) {
    super(deps)
    this.start()
  }

  onConsole(handler: Handler<string>): Off {
    return this.on('console', handler)
  }

  /** Stats with args[0] already parsed from its JSON string. */
  onStats(handler: Handler<ConsoleStats>): Off {
    return this.on('stats', handler)
  }

  onStatus(handler: Handler<ServerState>): Off {
    return this.on('status', handler)
  }

  /** Writes a line to the server's stdin (needs control.console). False when not connected. */
  sendCommand(command: string): boolean {
    return this.isReady && this.sendJson({ event: 'send command', args: [command] })
  }

  /** start | stop | restart | kill (needs the matching control.* permission). */
  setState(action: PowerAction): boolean {
    return this.isReady && this.sendJson({ event: 'set state', args: [action] })
  }

  /** Asks for the recent console history (replayed as `console output` events). */
  requestLogs(): boolean {
    return this.isReady && this.sendJson({ event: 'send logs', args: [null] })
  }

  requestStats(): boolean {
    return this.isReady && this.sendJson({ event: 'send stats', args: [null] })
  }

  protected credentials() {
    return this.rest
      .credentials(`/api/client/servers/${encodeURIComponent(this.serverId)}/websocket`)
      .then((c) => ({ url: c.socket, token: c.token }))
  }

  protected sendAuth(token: string): void {
    // `since` is read on a socket's first auth only (a token refresh on the same socket ignores it).
    this.sendJson(this.lastSeq > 0 ? { event: 'auth', args: [token], since: this.lastSeq } : { event: 'auth', args: [token] })
  }

  protected onFrame(raw: unknown): void {
    if (!raw || typeof raw !== 'object' || typeof (raw as ConsoleFrame).event !== 'string') return
    const frame = raw as ConsoleFrame
    const arg = Array.isArray(frame.args) && typeof frame.args[0] === 'string' ? frame.args[0] : ''
    switch (frame.event) {
      case 'auth success':
        this.authenticated()
        break
      case 'token expiring':
      case 'token expired':
        // Both only start a refresh if none is in flight (single-flight in refreshToken).
        void this.refreshToken().catch(() => {})
        break
      case 'jwt error':
        this.events.emit('jwtError', arg)
        if (this.state === 'authenticating') this.authRejected(arg)
        // On a ready socket a jwt error means the token lapsed before a refresh landed; one
        // received while a refresh is in flight answers a frame sent with the old token, and the
        // refresh's own acknowledgement (or timeout) decides its fate.
        else if (this.state === 'ready') void this.refreshToken().catch(() => {})
        break
      case 'console output':
        // `send logs` replays older lines on purpose: remember the newest, emit every one.
        if (typeof frame.seq === 'number' && frame.seq > this.lastSeq) this.lastSeq = frame.seq
        this.events.emit('console', arg)
        break
      case 'status':
        this.events.emit('status', arg as ServerState)
        break
      case 'stats': {
        let stats: ConsoleStats
        try {
          stats = JSON.parse(arg) as ConsoleStats
        } catch {
          break
        }
        this.events.emit('stats', stats)
        break
      }
      case 'daemon error':
        this.events.emit('daemonError', arg)
        // Before the first success the only frame we sent is `auth`: this refuses it (Wings
        // reports a malformed or foreign token as a daemon error, an expired one as a jwt error).
        if (this.state === 'authenticating') this.authRejected(arg)
        break
      case 'daemon message':
        this.events.emit('daemonMessage', arg)
        break
      case 'throttled':
        this.events.emit('throttled', arg)
        break
    }
    this.events.emit('frame', frame)
  }
}
