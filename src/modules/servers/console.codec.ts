/**
 * The Wings console protocol on the wire: `{"event": string, "args"?: string[]}` text frames,
 * built as the types of console.messages.ts (the schemas). Publications on a server topic carry
 * the finished message, so the hub encodes each one once and writes the same bytes to every
 * console socket of that server. Events without arguments
 * omit `args` as Wings does (`{"event":"auth success"}`); `stats` carries its figures as a JSON
 * STRING in args[0].
 */
import type { Codec } from '../realtime/hub.js'
import type { ServerState, StatsSnapshot } from './supervisor.js'
import { OUT, type ConsoleOutputMessage, type StatsMessage, type StatusMessage } from './console.messages.js'

/** Name of the codec registered on the hub. */
export const CONSOLE_CODEC = 'wings-console'

export { IN, OUT } from './console.messages.js'

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

export const consoleLine = (line: string, seq?: number): ConsoleOutputMessage =>
  seq === undefined ? { event: OUT.CONSOLE_OUTPUT, args: [line] } : { event: OUT.CONSOLE_OUTPUT, args: [line], seq }
export const statusMessage = (state: ServerState): StatusMessage => ({ event: OUT.STATUS, args: [state] })
export const statsMessage = (s: StatsSnapshot): StatsMessage => ({ event: OUT.STATS, args: [JSON.stringify(s)] })

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
