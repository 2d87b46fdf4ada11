/**
 * The channel socket protocol as data: inbound message schemas (TypeBox, compiled once), the
 * error codes, and the normalisation of a `subscribe` into a subscription spec. Pure: no
 * Fastify, no hub, so every malformed input can be tested directly.
 *
 * Filters are accepted at the top level (the seed's JavaScript client spreads them there) or
 * under `filters` (the seed's examples and Python client); `filters` wins when both are given.
 */
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { ajvLikeErrors } from '../devices/typebox-compiler.js'
import { METRIC_PATTERN } from '../devices/devices.schemas.js'
import { SEVERITIES } from '../alerts/alert-rules.evaluate.js'
import { DEVICE_STATUSES } from '../devices/device-status.js'
import { HistoryRequest, historyStart, type HistoryStart } from '../devices/telemetry.stream.js'
import { CHANNELS, type ChannelName } from './channels.topics.js'

/** Every `code` an `{"type":"error"}` message can carry. */
export const ERROR_CODES = {
  invalid_json: 'The message is not valid JSON.',
  forbidden_key: 'The message contains a forbidden key (__proto__, constructor or prototype).',
  binary_not_supported: 'Binary frames are not accepted; send JSON text.',
  invalid_message: 'A field is missing or has the wrong type (the message names it).',
  unknown_type: 'The message type is not one of auth, ping, subscribe, unsubscribe, batch.',
  not_authenticated: 'Only auth and ping are accepted before a successful auth.',
  token_expired: 'The token expired; delivery is paused until a new auth message.',
  unknown_channel: 'The channel is not one of telemetry, alerts, devices, system, commands.',
  channel_not_allowed: 'This socket route serves one channel only.',
  invalid_filter: 'A filter does not apply to the channel, or its value is out of range.',
  device_not_found: 'The device does not exist or does not belong to you.',
  too_many_subscriptions: 'This socket has reached its subscription limit.',
  batch_too_large: 'A batch holds more messages than allowed.',
  nested_batch: 'A batch cannot contain another batch.',
  rate_limited: 'Too many messages per second; the message was dropped.',
} as const
export type ErrorCode = keyof typeof ERROR_CODES

/** Most subscriptions (channel × device) one socket may hold. */
export const MAX_SUBSCRIPTIONS = 256
/** Most devices in one subscribe. */
export const MAX_DEVICES_PER_SUBSCRIBE = 100
export const SYSTEM_METRICS = ['cpu_usage', 'memory_usage', 'disk_usage', 'active_connections'] as const

const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })
const OneOrMany = <T extends Parameters<typeof Type.Array>[0]>(item: T, max: number) =>
  Type.Union([item, Type.Array(item, { minItems: 1, maxItems: max })])

const filterFields = {
  device_id: Type.Optional(OneOrMany(Id, MAX_DEVICES_PER_SUBSCRIBE)),
  metrics: Type.Optional(OneOrMany(Type.String({ pattern: METRIC_PATTERN }), 64)),
  severity: Type.Optional(OneOrMany(Type.Union(SEVERITIES.map((s) => Type.Literal(s))), 3)),
  alert_type: Type.Optional(OneOrMany(Type.String({ minLength: 1, maxLength: 64 }), 20)),
  status_types: Type.Optional(OneOrMany(Type.Union(DEVICE_STATUSES.map((s) => Type.Literal(s))), 4)),
  frequency: Type.Optional(Type.String({ maxLength: 16 })),
}
const Filters = Type.Object(filterFields, { additionalProperties: false })

const Envelope = Type.Object({ type: Type.String({ maxLength: 32 }) })
const Auth = Type.Object({ type: Type.Literal('auth'), token: Type.String({ maxLength: 4096 }) }, { additionalProperties: false })
const Ping = Type.Object({ type: Type.Literal('ping'), timestamp: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()])) }, { additionalProperties: false })
const Subscribe = Type.Object(
  {
    type: Type.Literal('subscribe'),
    channel: Type.String({ maxLength: 32 }),
    ...filterFields,
    filters: Type.Optional(Filters),
    history: Type.Optional(HistoryRequest),
    snapshot: Type.Optional(Type.Boolean({ description: 'telemetry with device_id: first the latest value of every metric (telemetry_snapshot)' })),
  },
  { additionalProperties: false },
)
const Unsubscribe = Type.Object(
  { type: Type.Literal('unsubscribe'), channel: Type.String({ maxLength: 32 }), device_id: filterFields.device_id, filters: Type.Optional(Type.Object({ device_id: filterFields.device_id }, { additionalProperties: false })) },
  { additionalProperties: false },
)
const Batch = Type.Object({ type: Type.Literal('batch'), messages: Type.Array(Type.Unknown()) }, { additionalProperties: false })

/** The inbound message schemas (also published in the AsyncAPI document). */
export const INBOUND_SCHEMAS = { auth: Auth, ping: Ping, subscribe: Subscribe, unsubscribe: Unsubscribe, batch: Batch }

export type AuthMessage = Static<typeof Auth>
export type PingMessage = Static<typeof Ping>
export type SubscribeMessage = Static<typeof Subscribe>
export type UnsubscribeMessage = Static<typeof Unsubscribe>
export type BatchMessage = Static<typeof Batch>
export type InboundMessage = AuthMessage | PingMessage | SubscribeMessage | UnsubscribeMessage | BatchMessage

const validators = {
  auth: Compile(Auth),
  ping: Compile(Ping),
  subscribe: Compile(Subscribe),
  unsubscribe: Compile(Unsubscribe),
  batch: Compile(Batch),
}
const envelope = Compile(Envelope)

export type Checked = { ok: true; msg: InboundMessage } | { ok: false; code: ErrorCode; message: string }

const fail = (code: ErrorCode, message: string = ERROR_CODES[code]): Checked & { ok: false } => ({ ok: false, code, message })

/** Validates one parsed inbound message (any JSON value); never throws. */
export function checkMessage(value: unknown): Checked {
  if (!envelope.Check(value)) return fail('invalid_message', 'A message must be a JSON object with a string `type`.')
  const type = (value as { type: string }).type
  if (!Object.hasOwn(validators, type)) return fail('unknown_type', `Unknown message type "${type.slice(0, 32)}"; expected auth, ping, subscribe, unsubscribe or batch.`)
  const v = validators[type as keyof typeof validators]
  if (v.Check(value)) return { ok: true, msg: value as InboundMessage }
  const e = ajvLikeErrors(v.Errors(value))[0]
  const field = (e?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || 'message'
  return fail('invalid_message', `${field}: ${e?.message ?? 'is invalid'}`)
}

export interface SubscriptionSpec {
  channel: ChannelName
  /** null: every device the user may see. */
  deviceIds: number[] | null
  /** Sorted metric subset (telemetry: metric names; system: system metrics); null = all. */
  metrics: string[] | null
  severity: string[] | null
  alertTypes: string[] | null
  statusTypes: string[] | null
  /** As given (echoed in the acknowledgement), or null. */
  frequency: string | null
  /** telemetry: minimum ms between updates per device (0 = real time); system: the period. */
  intervalMs: number
  /** telemetry: history to send before live updates (frames then carry offsets), or null. */
  history: HistoryStart | null
  /** telemetry: the latest values first. */
  snapshot: boolean
}

const list = <T>(v: T | T[] | undefined): T[] | null => (v === undefined ? null : Array.isArray(v) ? [...new Set(v)] : [v])

const APPLICABLE: Record<ChannelName, ReadonlySet<string>> = {
  telemetry: new Set(['device_id', 'metrics', 'frequency']),
  alerts: new Set(['device_id', 'severity', 'alert_type']),
  devices: new Set(['device_id', 'status_types']),
  system: new Set(['metrics', 'frequency']),
  commands: new Set(['device_id']),
}

/** `real-time` → 0; `500ms`, `30s`, `5m`, `1h`, `10` (seconds) → ms; null when malformed. */
export function parseFrequency(text: string): number | null {
  if (/^real[-_ ]?time$/i.test(text)) return 0
  const m = /^([0-9]{1,6})(ms|s|m|h)?$/.exec(text.trim())
  if (!m) return null
  const n = Number(m[1])
  switch (m[2] ?? 's') {
    case 'ms': return n
    case 's': return n * 1000
    case 'm': return n * 60_000
    default: return n * 3_600_000
  }
}

export type Normalized = { ok: true; spec: SubscriptionSpec } | { ok: false; code: ErrorCode; message: string }

/** A validated subscribe → its spec, or the refusal; `defaultSystemMs` is SYSTEM_STATUS_INTERVAL. */
export function normalizeSubscribe(msg: SubscribeMessage, defaultSystemMs: number): Normalized {
  if (!(CHANNELS as readonly string[]).includes(msg.channel)) {
    return fail('unknown_channel', `Unknown channel "${msg.channel}"; expected ${CHANNELS.join(', ')}.`)
  }
  const channel = msg.channel as ChannelName
  const f: Static<typeof Filters> = { ...pickFilters(msg), ...msg.filters }
  for (const key of Object.keys(f)) {
    if (f[key as keyof typeof f] !== undefined && !APPLICABLE[channel].has(key)) {
      return fail('invalid_filter', `Filter "${key}" does not apply to the ${channel} channel.`)
    }
  }
  const metrics = list(f.metrics)?.sort() ?? null
  if (channel === 'system' && metrics) {
    const bad = metrics.find((m) => !(SYSTEM_METRICS as readonly string[]).includes(m))
    if (bad) return fail('invalid_filter', `Unknown system metric "${bad}"; expected ${SYSTEM_METRICS.join(', ')}.`)
  }
  let intervalMs = channel === 'system' ? defaultSystemMs : 0
  if (f.frequency !== undefined) {
    const ms = parseFrequency(f.frequency)
    if (ms === null) return fail('invalid_filter', 'frequency must be "real-time" or an interval such as 500ms, 30s, 5m or 1h.')
    if (channel === 'system') {
      // "real-time" for system means as often as allowed: once per second.
      intervalMs = Math.max(1000, ms)
      if (intervalMs > 3_600_000) return fail('invalid_filter', 'frequency for system must be between 1s and 1h.')
    } else {
      if (ms !== 0 && (ms < 100 || ms > 3_600_000)) return fail('invalid_filter', 'frequency for telemetry must be real-time or between 100ms and 1h.')
      intervalMs = ms
    }
  }
  let history: HistoryStart | null = null
  if (msg.history !== undefined || msg.snapshot) {
    if (channel !== 'telemetry') return fail('invalid_filter', 'history and snapshot apply to the telemetry channel only.')
    if (list(f.device_id) === null) return fail('invalid_filter', 'history and snapshot need device_id.')
    if (msg.history !== undefined) {
      const start = historyStart(msg.history)
      if (typeof start === 'string') return fail('invalid_filter', start)
      history = start
    }
  }
  return {
    ok: true,
    spec: {
      history,
      snapshot: msg.snapshot === true,
      channel,
      deviceIds: list(f.device_id),
      metrics,
      severity: list(f.severity),
      alertTypes: list(f.alert_type),
      statusTypes: list(f.status_types),
      frequency: f.frequency ?? null,
      intervalMs,
    },
  }
}

function pickFilters(msg: SubscribeMessage): Static<typeof Filters> {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(filterFields)) {
    const v = (msg as Record<string, unknown>)[k]
    if (v !== undefined) out[k] = v
  }
  return out as Static<typeof Filters>
}

/** Device ids named by an unsubscribe (top level or filters), or null for the whole channel. */
export function unsubscribeTargets(msg: UnsubscribeMessage): number[] | null {
  return list(msg.filters?.device_id ?? msg.device_id)
}
