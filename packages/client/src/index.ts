/**
 * @wirehub/client: TypeScript client for wirehub's console, IoT channel and user-event sockets.
 * No runtime dependencies; runs in browsers (native WebSocket, session cookie) and in Node (the
 * `ws` package passed as `WebSocket`, a client API key).
 */
export { WirehubClient, type WirehubClientOptions } from './client.js'
export { ConsoleSocket, type ConsoleEvents } from './console.js'
export { ChannelsSocket, toAlertMessage, type ChannelsEvents, type ChannelsOptions } from './channels.js'
export { TelemetryFollower, type TelemetryStreamHandlers, type TelemetryStreamOptions } from './telemetry-stream.js'
export { DeviceCommands, FINAL_COMMAND_STATES, type ListCommandsOptions } from './commands.js'
export { UserEventsSocket, type UserEventsEvents, type UserEventsOptions } from './user-events.js'
export {
  HandshakeRefusedError,
  ReconnectingSocket,
  type CloseEvent,
  type OpenEvent,
  type SocketDeps,
  type SocketEvents,
  type SocketState,
  type SocketStats,
} from './socket.js'
export {
  backoffDelay,
  backoffWindow,
  DEFAULT_BACKOFF,
  ReconnectScheduler,
  systemClock,
  type BackoffOptions,
  type Clock,
} from './backoff.js'
export { CLOSE, describeClose, isTerminal, type CloseCode, type CloseName } from './close-codes.js'
export { Rest, WirehubHttpError, CSRF_COOKIE, CSRF_HEADER, type FetchLike, type SocketCredentials } from './http.js'
export type { Handler, Off } from './emitter.js'
export * from './types.js'
