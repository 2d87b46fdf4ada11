/**
 * Wire types of wirehub's three socket families, as the protocols define them:
 * console (Pterodactyl/Wings, `{event, args}`), channels (`{type, ...}` as the IoT seed), and
 * user events (`{eventType, ...}` numeric types). Only what the SDK reads or sends is typed;
 * unknown fields pass through untouched.
 */

/* ----------------------------------------------------------------- WebSocket */

/**
 * The subset of the WHATWG WebSocket the SDK uses. Browsers' `WebSocket` and the `ws` package's
 * `WebSocket` (Node) both satisfy it.
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: any) => void) | null
  onmessage: ((ev: any) => void) | null
  onclose: ((ev: any) => void) | null
  onerror: ((ev: any) => void) | null
}

/** `new WebSocket(url)` (browser) or `new WebSocket(url, options)` (the `ws` package). */
export type WebSocketCtor = new (url: string, ...rest: any[]) => WebSocketLike

export const WS_OPEN = 1

/* ------------------------------------------------------------------- console */

export type PowerAction = 'start' | 'stop' | 'restart' | 'kill'
export type ServerState = 'offline' | 'starting' | 'running' | 'stopping'

/** The parsed args[0] of a `stats` event (Wings' format). */
export interface ConsoleStats {
  memory_bytes: number
  memory_limit_bytes: number
  cpu_absolute: number
  network: { rx_bytes: number; tx_bytes: number }
  uptime?: number
  state: ServerState
  disk_bytes: number
}

/** Every console frame: `{event, args?}`; args are strings (stats carries a JSON string). */
export interface ConsoleFrame {
  event: string
  args?: Array<string | null>
  /** wirehub: a console line's number in the server's durable log. */
  seq?: number
}

/* ------------------------------------------------------------------ channels */

export type ChannelName = 'telemetry' | 'alerts' | 'devices' | 'system' | 'commands'
export type Severity = 'info' | 'warning' | 'critical'
export type DeviceStatus = 'online' | 'offline' | 'maintenance' | 'warning' | (string & {})

/** `filters` of a subscribe (all optional; no device filter means "all my devices"). */
export interface ChannelFilters {
  device_id?: number | number[]
  metrics?: string[]
  severity?: Severity | Severity[]
  alert_type?: string | string[]
  status_types?: string[]
  /** `real-time` or an interval such as `30s`. */
  frequency?: string
}

export interface MetricReading {
  value: number
  unit?: string
  timestamp: string
}

export interface TelemetryUpdate {
  type: 'telemetry_update'
  channel: 'telemetry'
  device_id: number
  /** Present on history-then-live subscriptions: the reading's offset (per device, +1 per reading). */
  offset?: number
  telemetry: Record<string, MetricReading>
}

/** One reading of a history-then-live stream (`streamTelemetry`). */
export interface StreamReading {
  device_id: number
  offset: number
  telemetry: Record<string, MetricReading>
  /** From the history (true) or live (false). */
  history: boolean
}

export interface TelemetryHistoryFrame {
  type: 'telemetry_history'
  channel: 'telemetry'
  device_id: number
  readings: Array<{ offset: number; telemetry: Record<string, MetricReading> }>
  /** The last history frame: live readings follow. */
  complete: boolean
  last_offset: number
  /** More readings matched than one history returns (10 000): these are the most recent. */
  truncated: boolean
}

export interface TelemetrySnapshot {
  type: 'telemetry_snapshot'
  channel: 'telemetry'
  device_id: number
  latest: Record<string, MetricReading & { offset: number }>
}

export interface AlertMessage {
  type: 'alert'
  channel: 'alerts'
  alert_id: number
  device_id: number
  severity: Severity
  title: string
  message: string
  timestamp: string
  alert_type?: string
  metadata?: { threshold_value?: number; actual_value?: number; [k: string]: unknown }
  /** True when the SDK recovered this alert from `GET /api/client/alerts?since=` after a reconnect. */
  recovered?: boolean
}

export interface DeviceStatusUpdate {
  type: 'device_status_update'
  channel: 'devices'
  device_id: number
  old_status: DeviceStatus
  new_status: DeviceStatus
  timestamp: string
  reason?: string
  metadata?: { last_seen?: string; [k: string]: unknown }
}

export interface SystemStatusUpdate {
  type: 'system_status_update'
  channel: 'system'
  metrics: { cpu_usage?: number; memory_usage?: number; disk_usage?: number; active_connections?: number; [k: string]: number | undefined }
  timestamp: string
}

/* ------------------------------------------------------------------ commands */

/** QUEUED → SENT → DELIVERED → SUCCEEDED | FAILED; EXPIRED or CANCELLED from any open state. */
export type CommandState = 'QUEUED' | 'SENT' | 'DELIVERED' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED' | 'CANCELLED'

/** A device command as the server reports it (REST and the `commands` channel). */
export interface DeviceCommand {
  id: number
  device_id: number
  method: string
  params: unknown
  state: CommandState
  result: unknown
  error: string | null
  timeout: number
  transport: 'mqtt' | 'http' | null
  created_by: number | null
  created_at: string
  sent_at: string | null
  delivered_at: string | null
  completed_at: string | null
  expires_at: string
}

/** One state change of a command on the `commands` channel. */
export interface CommandUpdate {
  type: 'command_update'
  channel: 'commands'
  device_id: number
  state: CommandState
  command: DeviceCommand
}

/** `{type:'error'}` from the channels socket (a refused subscribe, a limit, an expired token…). */
export interface ChannelError {
  type: 'error'
  code?: string
  message?: string
  [k: string]: unknown
}

export interface SubscribedAck {
  type: 'subscribed'
  channel: ChannelName
  [k: string]: unknown
}

/* --------------------------------------------------------------- user events */

/** Numeric event types of the user events socket (wirehub's table; 1–4 and 10 as the seed). */
export const USER_EVENT = {
  LOGIN: 1,
  LOGOUT: 2,
  ACTIVATED: 3,
  REMOVED: 4,
  ECHO: 10,
  UPDATED: 11,
  API_KEY_CREATED: 12,
  API_KEY_REVOKED: 13,
  ERROR: 99,
} as const

export interface UserLifecycleEvent {
  eventType: number
  user: { uuid: string; email: string }
  timestamp: string
  key?: { identifier: string; type: 'client' | 'application' }
}

export interface UserEchoEvent {
  eventType: typeof USER_EVENT.ECHO
  message: string
}

export interface UserErrorEvent {
  eventType: typeof USER_EVENT.ERROR
  error: string
  message: string
}

/** Payload type per numeric event type (anything else: a generic object with `eventType`). */
export interface UserEventMap {
  1: UserLifecycleEvent
  2: UserLifecycleEvent
  3: UserLifecycleEvent
  4: UserLifecycleEvent
  10: UserEchoEvent
  11: UserLifecycleEvent
  12: UserLifecycleEvent
  13: UserLifecycleEvent
  99: UserErrorEvent
}

export type UserEventOf<N extends number> = N extends keyof UserEventMap ? UserEventMap[N] : { eventType: N; [k: string]: unknown }
