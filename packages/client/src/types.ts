/**
 * Wire types of wirehub's three socket families, as the protocols define them:
 * console (Pterodactyl/Wings, `{event, args}`), channels (`{type, ...}` as the IoT seed), and
 * user events (`{eventType, ...}` numeric types). Only what the SDK reads or sends is typed;
 * unknown fields pass through untouched.
 *
 * The message shapes come from the server's schemas through wire.generated.ts (generated, checked
 * by a test): console, commands and user events are those types; the channel messages below are
 * the SDK's own reading of them, and the checks at the end of this file make sure every frame the
 * server's schemas allow is still one of them.
 */
import type {
  WireAlert,
  WireDeviceStatusUpdate,
  WireSystemStatusUpdate,
  WireTelemetryHistory,
  WireTelemetrySnapshot,
  WireTelemetryUpdate,
} from './wire.generated.js'

export type {
  CommandState,
  CommandUpdate,
  ConsoleOutboundFrame,
  ConsoleOutputFrame,
  ConsoleStats,
  ConsoleStatsFrame,
  ConsoleStatusFrame,
  DeviceCommand,
  PowerAction,
  ServerState,
  UserEchoEvent,
  UserErrorEvent,
  UserLifecycleEvent,
} from './wire.generated.js'
export { USER_EVENT } from './wire.generated.js'
import type { UserEchoEvent, UserErrorEvent, UserLifecycleEvent } from './wire.generated.js'

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

/**
 * Any console frame as received: `{event, args?}` (ConsoleOutboundFrame lists the ones wirehub
 * sends; stats carries a JSON string).
 */
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
  /** null for a unitless metric. */
  unit?: string | null
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
  reason?: string | null
  metadata?: { last_seen?: string; [k: string]: unknown }
}

export interface SystemStatusUpdate {
  type: 'system_status_update'
  channel: 'system'
  metrics: { cpu_usage?: number; memory_usage?: number; disk_usage?: number; active_connections?: number; [k: string]: number | undefined }
  timestamp: string
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

/* ------------------------------------------------- checks against the server's schemas */

/** Compiles only when every `W` (what the server's schema allows) is also an `S` (the SDK's type). */
type Reads<W extends S, S> = [W, S]
// Not exported: tsc fails here when a server schema changes in a way these types do not read.
type WireChecks = [
  Reads<WireTelemetryUpdate, TelemetryUpdate>,
  Reads<WireTelemetryHistory, TelemetryHistoryFrame>,
  Reads<WireTelemetrySnapshot, TelemetrySnapshot>,
  Reads<WireAlert, AlertMessage>,
  Reads<WireDeviceStatusUpdate, DeviceStatusUpdate>,
  Reads<WireSystemStatusUpdate, SystemStatusUpdate>,
]
