/**
 * The Wings console protocol on the wire: `{"event": string, "args"?: string[]}` text frames.
 * Publications on a server topic carry the finished message, so the hub encodes each one once
 * and writes the same bytes to every console socket of that server. Events without arguments
 * omit `args` as Wings does (`{"event":"auth success"}`); `stats` carries its figures as a JSON
 * STRING in args[0].
 */
import type { Codec } from '../realtime/hub.js'
import type { ServerState, StatsSnapshot } from './supervisor.js'

/** Name of the codec registered on the hub. */
export const CONSOLE_CODEC = 'wings-console'

/** Outbound event names (Wings `router/websocket/message.go` and `server/events.go`). */
export const OUT = {
  AUTH_SUCCESS: 'auth success',
  STATUS: 'status',
  CONSOLE_OUTPUT: 'console output',
  STATS: 'stats',
  TOKEN_EXPIRING: 'token expiring',
  TOKEN_EXPIRED: 'token expired',
  JWT_ERROR: 'jwt error',
  DAEMON_ERROR: 'daemon error',
  DAEMON_MESSAGE: 'daemon message',
  THROTTLED: 'throttled',
} as const

/** Inbound event names. */
export const IN = {
  AUTH: 'auth',
  SEND_STATS: 'send stats',
  SEND_LOGS: 'send logs',
  /** wirehub: replay the logged lines after a line number (args[0]), then stream on. */
  SEND_LOGS_SINCE: 'send logs since',
  SET_STATE: 'set state',
  SEND_COMMAND: 'send command',
} as const

export interface WingsMessage {
  event: string
  args?: string[]
  /** wirehub: a console line's number in the durable log (resume with `send logs since`). */
  seq?: number
}

/** Topic of one game server's console on the hub. */
export const serverTopic = (uuid: string) => `server:${uuid}`

export const consoleCodec: Codec = {
  encode(payload) {
    return JSON.stringify(payload as WingsMessage)
  },
}

export function encode(event: string, args?: string[]): string {
  return JSON.stringify(args === undefined ? { event } : { event, args })
}

export const consoleLine = (line: string, seq?: number): WingsMessage =>
  seq === undefined ? { event: OUT.CONSOLE_OUTPUT, args: [line] } : { event: OUT.CONSOLE_OUTPUT, args: [line], seq }
export const statusMessage = (state: ServerState): WingsMessage => ({ event: OUT.STATUS, args: [state] })
export const statsMessage = (s: StatsSnapshot): WingsMessage => ({ event: OUT.STATS, args: [JSON.stringify(s)] })

/** Wings' GetErrorMessage: every error sent to a client carries a random reference. */
export function errorText(message: string, ref: string): string {
  return `Error Event [${ref}]: ${message}`
}

/** Wings' jwt error texts (the Pterodactyl frontend refreshes its token on the first two). */
export const JWT = {
  EXPIRED: 'jwt: exp claim is invalid',
  DENYLISTED: 'jwt: created too far in past (denylist)',
  NOT_PRESENT: 'jwt: no jwt present',
  NO_CONNECT: 'jwt: missing connect permission',
  UUID_MISMATCH: 'jwt: server uuid mismatch',
} as const

export const GENERIC_ERROR = 'an unexpected error was encountered while handling this request'
