/**
 * Every message of the Wings console protocol, defined once as TypeBox schemas: what a console
 * client sends and what wirehub sends back (`{"event": string, "args"?: string[]}` text frames).
 * The codec (console.codec.ts) builds its frames as these types, the AsyncAPI document carries
 * these schemas, and the SDK's console types are generated from them
 * (packages/client/src/wire.generated.ts), so the three cannot drift apart.
 *
 * Events without arguments omit `args`, as Wings does (`{"event":"auth success"}`); `stats`
 * carries its figures as a JSON STRING in args[0] (ConsoleStats is what that string holds).
 */
import Type, { type Static, type TSchema } from 'typebox'

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

export const ServerStateSchema = Type.Union([Type.Literal('offline'), Type.Literal('starting'), Type.Literal('running'), Type.Literal('stopping')])
export const PowerActionSchema = Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart'), Type.Literal('kill')])

/** The figures inside a `stats` event's args[0] (Wings' ResourceUsage, JSON text). */
export const ConsoleStats = Type.Object({
  memory_bytes: Type.Number(),
  memory_limit_bytes: Type.Number(),
  cpu_absolute: Type.Number({ description: 'percent of one core' }),
  network: Type.Object(
    { rx_bytes: Type.Number(), tx_bytes: Type.Number() },
    { description: "rx: bytes written to the process's stdin (console input); tx: bytes it wrote to stdout/stderr" },
  ),
  uptime: Type.Number({ description: 'milliseconds since the process started (0 while offline)' }),
  state: ServerStateSchema,
  disk_bytes: Type.Number(),
})
export type ConsoleStats = Static<typeof ConsoleStats>

const one = (description: string) => Type.Array(Type.String({ description }), { minItems: 1, maxItems: 1 })
/** Pterodactyl's frontend sends `args: [null]` with events that take no argument. */
const nullArg = Type.Array(Type.Union([Type.Null(), Type.String()]), { maxItems: 1 })

const event = <E extends string>(name: E) => Type.Object({ event: Type.Literal(name) })
const withArgs = <E extends string, A extends TSchema>(name: E, args: A) => Type.Object({ event: Type.Literal(name), args })

// ------------------------------------------------------------------ server → client

export const AuthSuccessMessage = event(OUT.AUTH_SUCCESS)
export const StatusMessage = withArgs(OUT.STATUS, Type.Array(ServerStateSchema, { minItems: 1, maxItems: 1 }))
export const ConsoleOutputMessage = Type.Object({
  event: Type.Literal(OUT.CONSOLE_OUTPUT),
  args: one('one console line, ANSI codes kept'),
  seq: Type.Optional(Type.Integer({ minimum: 1, description: "wirehub: the line's number in the durable log (absent on ephemeral notices such as the throttle notice)" })),
})
export const StatsMessage = withArgs(OUT.STATS, one('JSON text of ConsoleStats: {memory_bytes, memory_limit_bytes, cpu_absolute, network:{rx_bytes,tx_bytes}, uptime, state, disk_bytes}'))
export const TokenExpiringMessage = event(OUT.TOKEN_EXPIRING)
export const TokenExpiredMessage = event(OUT.TOKEN_EXPIRED)
export const JwtErrorMessage = withArgs(OUT.JWT_ERROR, one('reason'))
export const DaemonErrorMessage = withArgs(OUT.DAEMON_ERROR, one('message'))
export const DaemonMessageMessage = withArgs(OUT.DAEMON_MESSAGE, one('message'))
export const ThrottledMessage = withArgs(OUT.THROTTLED, one('the throttled event name'))

export type AuthSuccessMessage = Static<typeof AuthSuccessMessage>
export type StatusMessage = Static<typeof StatusMessage>
export type ConsoleOutputMessage = Static<typeof ConsoleOutputMessage>
export type StatsMessage = Static<typeof StatsMessage>
/** Every frame wirehub sends on a console socket. */
export type ConsoleOutbound = Static<typeof ConsoleOutbound>
export const ConsoleOutbound = Type.Union([
  AuthSuccessMessage, StatusMessage, ConsoleOutputMessage, StatsMessage, TokenExpiringMessage, TokenExpiredMessage,
  JwtErrorMessage, DaemonErrorMessage, DaemonMessageMessage, ThrottledMessage,
])

// ------------------------------------------------------------------ client → server

export const AuthMessage = Type.Object({
  event: Type.Literal(IN.AUTH),
  args: one('the token from GET /api/client/servers/{server}/websocket'),
  since: Type.Optional(Type.Integer({ minimum: 0, description: "wirehub, first auth of a socket only: replay the logged lines after this seq before the live stream (a reconnecting client's last seq)" })),
})
export const SendStatsMessage = withArgs(IN.SEND_STATS, nullArg)
export const SendLogsMessage = withArgs(IN.SEND_LOGS, nullArg)
export const SendLogsSinceMessage = withArgs(IN.SEND_LOGS_SINCE, one('a line number (seq)'))
export const SetStateMessage = withArgs(IN.SET_STATE, Type.Array(PowerActionSchema, { minItems: 1, maxItems: 1 }))
export const SendCommandMessage = withArgs(IN.SEND_COMMAND, one('a console command'))

export interface MessageDoc {
  /** The event name on the wire. */
  name: string
  summary: string
  payload: TSchema
}

/** The console channel's messages as the AsyncAPI document lists them (key: message id). */
export const CONSOLE_INBOUND: Record<string, MessageDoc> = {
  auth: { name: IN.AUTH, summary: 'Authenticate (also renews the token on the same socket)', payload: AuthMessage },
  sendStats: { name: IN.SEND_STATS, summary: 'Ask for a stats event now', payload: SendStatsMessage },
  sendLogs: { name: IN.SEND_LOGS, summary: 'Replay the recent console history as console output events', payload: SendLogsMessage },
  sendLogsSince: { name: IN.SEND_LOGS_SINCE, summary: 'wirehub: replay the logged lines after this seq, then stream on without gap or repeat', payload: SendLogsSinceMessage },
  setState: { name: IN.SET_STATE, summary: 'Power action', payload: SetStateMessage },
  sendCommand: { name: IN.SEND_COMMAND, summary: 'Write a command to the server console', payload: SendCommandMessage },
}

export const CONSOLE_OUTBOUND: Record<string, MessageDoc> = {
  authSuccess: { name: OUT.AUTH_SUCCESS, summary: 'Authentication accepted', payload: AuthSuccessMessage },
  status: { name: OUT.STATUS, summary: 'Server state change', payload: StatusMessage },
  consoleOutput: { name: OUT.CONSOLE_OUTPUT, summary: 'A console line', payload: ConsoleOutputMessage },
  stats: { name: OUT.STATS, summary: 'Resource usage, about once a second while running', payload: StatsMessage },
  tokenExpiring: {
    name: OUT.TOKEN_EXPIRING,
    summary: 'The token expires within min(60 s, TTL/2), repeated every SOCKET_TOKEN_REPEAT seconds until renewed; also sent after a permission change so the client fetches a token carrying the new permissions; send a fresh auth',
    payload: TokenExpiringMessage,
  },
  tokenExpired: { name: OUT.TOKEN_EXPIRED, summary: 'The token expired, repeated every SOCKET_TOKEN_REPEAT seconds until renewed; events are answered with jwt error until a fresh auth', payload: TokenExpiredMessage },
  jwtError: { name: OUT.JWT_ERROR, summary: 'The token was refused', payload: JwtErrorMessage },
  daemonError: { name: OUT.DAEMON_ERROR, summary: 'A request failed (details only for admin.websocket.errors tokens)', payload: DaemonErrorMessage },
  daemonMessage: { name: OUT.DAEMON_MESSAGE, summary: 'A notice from wirehub', payload: DaemonMessageMessage },
  throttled: { name: OUT.THROTTLED, summary: 'An inbound event exceeded its rate limit', payload: ThrottledMessage },
}
