/**
 * The user events socket (seed 001): no token; the server checks the request's Origin against
 * its regex allow-list (and optionally an application key in the upgrade's Authorization
 * header). Messages carry a numeric `eventType`; the only thing a client sends is the echo
 * (`eventType` 10). Browsers send their own Origin; in Node pass `origin` (and `headers`),
 * which the SDK hands to the `ws` constructor.
 */
import type { Handler, Off } from './emitter.js'
import { Emitter } from './emitter.js'
import { ReconnectingSocket, type SocketDeps, type SocketEvents } from './socket.js'
import { USER_EVENT, type UserEventOf } from './types.js'

export interface UserEventsOptions {
  /** Origin header to send (Node only; browsers always send their page's origin). */
  origin?: string
  /** Extra upgrade headers (Node only), e.g. `{ authorization: 'Bearer <application key>' }`. */
  headers?: Record<string, string>
  /** Timeout of `echo()` in ms. Default 10 000. */
  echoTimeoutMs?: number
}

export interface UserEventsEvents extends SocketEvents {
  /** Every event as received. */
  event: { eventType: number; [k: string]: unknown }
}

interface PendingEcho {
  message: string
  resolve(message: string): void
  reject(err: Error): void
  timer: unknown
}

export class UserEventsSocket extends ReconnectingSocket<UserEventsEvents> {
  private readonly byType = new Emitter<Record<number, { eventType: number }>>()
  private readonly echoes: PendingEcho[] = []

  constructor(
    deps: SocketDeps,
    /** Absolute `ws(s)://` URL of the socket. */
    readonly url: string,
    private readonly opts: UserEventsOptions = {},
  ) {
    super(deps)
    this.start()
  }

  /** Handles one numeric event type (see USER_EVENT); the payload is typed per number. */
  override on<N extends number>(eventType: N, handler: Handler<UserEventOf<N>>): Off
  override on<K extends keyof UserEventsEvents>(event: K, handler: Handler<UserEventsEvents[K]>): Off
  override on(event: number | keyof UserEventsEvents, handler: Handler<never>): Off {
    if (typeof event === 'number') return this.byType.on(event, handler as Handler<{ eventType: number }>)
    return this.events.on(event, handler as Handler<UserEventsEvents[keyof UserEventsEvents]>)
  }

  /** Sends an echo event; resolves with the server's answer (the same message). */
  echo(message: string): Promise<string> {
    if (!this.isReady || !this.sendJson({ eventType: USER_EVENT.ECHO, message })) return Promise.reject(new Error('not connected'))
    return new Promise((resolve, reject) => {
      const entry: PendingEcho = {
        message,
        resolve,
        reject,
        timer: this.deps.clock.setTimeout(() => {
          const i = this.echoes.indexOf(entry)
          if (i >= 0) this.echoes.splice(i, 1)
          reject(new Error('echo timed out'))
        }, this.opts.echoTimeoutMs ?? 10_000),
      }
      this.echoes.push(entry)
    })
  }

  override close(): void {
    for (const e of this.echoes.splice(0)) {
      this.deps.clock.clearTimeout(e.timer)
      e.reject(new Error('socket closed'))
    }
    super.close()
  }

  protected async credentials() {
    return { url: this.url, token: null }
  }

  protected sendAuth(): void {}

  protected onFrame(raw: unknown): void {
    if (!raw || typeof raw !== 'object') return
    const ev = raw as { eventType?: unknown; message?: unknown }
    if (typeof ev.eventType !== 'number') return
    if (ev.eventType === USER_EVENT.ECHO && typeof ev.message === 'string') {
      const i = this.echoes.findIndex((e) => e.message === ev.message)
      const entry = i >= 0 ? this.echoes.splice(i, 1)[0] : undefined
      if (entry) {
        this.deps.clock.clearTimeout(entry.timer)
        entry.resolve(ev.message)
      }
    }
    this.byType.emit(ev.eventType, ev as { eventType: number })
    this.events.emit('event', ev as { eventType: number })
  }
}

/** ws constructor options for a user-events socket, or undefined when none are needed. */
export function userEventsWsOptions(opts: UserEventsOptions): Record<string, unknown> | undefined {
  if (!opts.origin && !opts.headers) return undefined
  return { ...(opts.origin ? { origin: opts.origin } : {}), ...(opts.headers ? { headers: opts.headers } : {}) }
}
