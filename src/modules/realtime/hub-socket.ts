/**
 * The WebSocket class of the sockets wirehub serves (ws's `WebSocket` server option): ws's own,
 * with the four events the core reacts to on every socket (message, ping, pong, close) handed
 * straight to the socket's connection. Listeners for them would cost each idle socket a closure
 * and its context per event plus a larger listener table (about half a kilobyte of heap);
 * one field does the same. Listeners added the usual way still run, after the connection.
 */
import { EventEmitter } from 'node:events'
import { WebSocket } from 'ws'

/** What a socket's events are handed to. */
export interface SocketEvents {
  socketMessage(data: unknown, isBinary: boolean): void
  socketPing(): void
  socketPong(): void
  socketClose(code: number): void
}

const emit = EventEmitter.prototype.emit

export class HubSocket extends WebSocket {
  /** The connection of this socket, once there is one. */
  events: SocketEvents | null = null

  // ws emits these with at most two arguments; the rest are passed on untouched.
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const to = this.events
    let handled = to !== null
    if (handled) {
      if (event === 'message') to!.socketMessage(a, b as boolean)
      else if (event === 'ping') to!.socketPing()
      else if (event === 'pong') to!.socketPong()
      else if (event === 'close') to!.socketClose(a as number)
      else handled = false
    }
    // eslint-disable-next-line prefer-rest-params -- passes ws's arguments on exactly as given
    return emit.apply(this, arguments as unknown as [string | symbol, ...unknown[]]) || handled
  }
}

/**
 * Hands the events of a socket that is not a HubSocket (a ws server made elsewhere, e.g. a test
 * rig) to `to` through ordinary listeners.
 */
export function listenWith(ws: WebSocket, to: SocketEvents): void {
  if (ws instanceof HubSocket) {
    ws.events = to
    return
  }
  ws.on('message', (data, isBinary) => to.socketMessage(data, isBinary))
  ws.on('ping', () => to.socketPing())
  ws.on('pong', () => to.socketPong())
  ws.on('close', (code: number) => to.socketClose(code))
}
