/**
 * MQTT topics and payloads, pure: which topic means what (ThingsBoard's `v1/devices/me/…` on
 * the embedded broker, `<prefix>/<device id>/…` on an external one), and the telemetry body
 * check, the same as HTTP ingestion (every body form of telemetry.normalize.ts).
 */
import { ReadingError, normalizeIngestBody } from '../devices/telemetry.normalize.js'
import { parseFrame } from '../realtime/socket-support.js'

/** ThingsBoard's device API topics (embedded broker). */
export const TB = {
  telemetry: 'v1/devices/me/telemetry',
  /** A device may publish "online"/"offline" here (typically "offline" as its will). */
  status: 'v1/devices/me/status',
  rpcRequestPrefix: 'v1/devices/me/rpc/request/',
  rpcRequestFilter: 'v1/devices/me/rpc/request/+',
  rpcResponsePrefix: 'v1/devices/me/rpc/response/',
  /** Where wirehub tells a subscribed device why a payload was refused. */
  errors: 'v1/devices/me/errors',
} as const

export type TopicMeaning =
  | { kind: 'telemetry'; deviceId: number | null }
  | { kind: 'status'; deviceId: number | null }
  | { kind: 'rpc_response'; deviceId: number | null; commandId: number }
  | { kind: 'rpc_ack'; deviceId: number | null; commandId: number }
  | { kind: 'other' }

const ID = /^[1-9][0-9]{0,9}$/
const idOf = (s: string | undefined): number | null => (s !== undefined && ID.test(s) && Number(s) <= 2_147_483_647 ? Number(s) : null)

/** A topic on the embedded broker (the device is the connection's). */
export function embeddedTopic(topic: string): TopicMeaning {
  if (topic === TB.telemetry) return { kind: 'telemetry', deviceId: null }
  if (topic === TB.status) return { kind: 'status', deviceId: null }
  if (topic.startsWith(TB.rpcResponsePrefix)) {
    const id = idOf(topic.slice(TB.rpcResponsePrefix.length))
    if (id !== null) return { kind: 'rpc_response', deviceId: null, commandId: id }
  }
  return { kind: 'other' }
}

/** External broker topics: `<prefix>/<device id>/telemetry|status|rpc/response/<id>|rpc/ack/<id>`. */
export function externalTopics(prefix: string) {
  return {
    subscriptions: ['telemetry', 'status', 'rpc/response/+', 'rpc/ack/+'].map((s) => `${prefix}/+/${s}`),
    request: (deviceId: number, commandId: number) => `${prefix}/${deviceId}/rpc/request/${commandId}`,
    parse(topic: string): TopicMeaning {
      if (!topic.startsWith(prefix + '/')) return { kind: 'other' }
      const parts = topic.slice(prefix.length + 1).split('/')
      const deviceId = idOf(parts[0])
      if (deviceId === null) return { kind: 'other' }
      if (parts.length === 2 && parts[1] === 'telemetry') return { kind: 'telemetry', deviceId }
      if (parts.length === 2 && parts[1] === 'status') return { kind: 'status', deviceId }
      if (parts.length === 4 && parts[1] === 'rpc') {
        const commandId = idOf(parts[3])
        if (commandId !== null && parts[2] === 'response') return { kind: 'rpc_response', deviceId, commandId }
        if (commandId !== null && parts[2] === 'ack') return { kind: 'rpc_ack', deviceId, commandId }
      }
      return { kind: 'other' }
    },
  }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

/** JSON with the prototype-pollution keys refused (the costly reviver only when they appear). */
export function parseJson(buf: Buffer, maxBytes: number): Parsed<unknown> {
  if (buf.includes('__proto__') || buf.includes('constructor') || buf.includes('prototype')) {
    const r = parseFrame(buf, false, maxBytes)
    return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error === 'forbidden_key' ? 'forbidden key (__proto__, constructor or prototype)' : 'not valid JSON' }
  }
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) as unknown }
  } catch {
    return { ok: false, error: 'not valid JSON' }
  }
}

/**
 * The telemetry checker for `maxReadings` (TELEMETRY_MAX_READINGS): the same checks and body
 * forms as HTTP ingestion (telemetry.normalize.ts); the body is handed to `ingest` as is.
 */
export function telemetryChecker(maxReadings: number, maxBytes: number) {
  return (buf: Buffer): Parsed<unknown> => {
    const json = parseJson(buf, maxBytes)
    if (!json.ok) return json
    try {
      normalizeIngestBody(json.value, { maxReadings, units: {} })
    } catch (err) {
      if (err instanceof ReadingError) return { ok: false, error: `${err.field}: ${err.validation[0]!.message}` }
      throw err
    }
    return { ok: true, value: json.value }
  }
}

/**
 * A device's answer to a command: any JSON value is its result (SUCCEEDED), except an object
 * whose only key is a string `error` (FAILED), ThingsBoard's convention for RPC errors.
 */
export function commandAnswer(buf: Buffer, maxBytes: number): Parsed<{ result: unknown } | { error: string }> {
  if (buf.length === 0) return { ok: true, value: { result: null } }
  const json = parseJson(buf, maxBytes)
  if (!json.ok) return json
  const v = json.value
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v)
    const err = (v as { error?: unknown }).error
    if (keys.length === 1 && typeof err === 'string') return { ok: true, value: { error: err.slice(0, 1000) || 'error' } }
  }
  return { ok: true, value: { result: v } }
}
