/**
 * REST calls of the dashboard, on the SDK's `Rest` (session cookie + the double-submit
 * `X-CSRF-Token` header on writes, Pterodactyl error bodies turned into WirehubHttpError).
 * The response shapes are the Pterodactyl envelopes the server issues define.
 */
import { Rest, WirehubHttpError } from '../../../packages/client/src/http.js'

export { WirehubHttpError }

export interface Item<T> {
  object: string
  attributes: T
  meta?: Record<string, unknown>
}

export interface List<T> {
  object: 'list'
  data: Item<T>[]
  meta?: { pagination?: { total: number; count: number; per_page: number; current_page: number; total_pages: number } }
}

export interface User {
  id: number
  uuid: string
  admin: boolean
  username: string | null
  email: string
}

export interface Server {
  identifier: string
  uuid: string
  name: string
  description?: string | null
  is_suspended?: boolean
  status?: string | null
  limits?: { memory?: number | null }
  server_owner?: boolean
}

export interface Resources {
  current_state: string
  is_suspended: boolean
  resources: { memory_bytes: number; cpu_absolute: number; disk_bytes: number; network_rx_bytes: number; network_tx_bytes: number; uptime: number }
}

export interface Device {
  id: number
  owner_id: number
  name: string
  type: string
  metadata: Record<string, unknown>
  units: Record<string, string>
  status: string
  status_reason: string | null
  last_seen_at: string | null
  key_identifier: string
  /** Days its telemetry is kept (0: forever); null: the server's default. */
  telemetry_retention_days?: number | null
  created_at: string
}

export interface Reading {
  metric: string
  value: number
  unit: string | null
  timestamp: string
}

export type Operator = '>' | '>=' | '<' | '<=' | '=='
export type Severity = 'info' | 'warning' | 'critical'

export interface AlertRule {
  id: number
  device_id: number
  metric: string
  operator: Operator
  threshold: number
  clear_threshold: number | null
  severity: Severity
  alert_type: string
  title: string
  message: string
  cooldown: number
  enabled: boolean
  breached?: boolean
  last_fired_at?: string | null
}

export interface Alert {
  id: number
  rule_id: number | null
  device_id: number
  severity: Severity
  alert_type: string
  title: string
  message: string
  metadata: { threshold_value?: number; actual_value?: number; [k: string]: unknown }
  status: 'open' | 'acknowledged' | 'resolved'
  acknowledged_at: string | null
  resolved_at: string | null
  created_at: string
}

export const rest = new Rest({ baseUrl: location.origin, fetch: (input, init) => fetch(input, init) })

/** Called when a request is refused with 401 (the session ended: signed out elsewhere, password changed). */
let sessionEnded: (() => void) | null = null
export function onSessionEnded(fn: () => void): void {
  sessionEnded = fn
}

function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return rest.request<T>(method, path, body).catch((err: unknown) => {
    if (isStatus(err, 401) && !path.startsWith('/api/auth/')) sessionEnded?.()
    throw err
  })
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => call<T>('PUT', path, body),
  del: (path: string) => call<void>('DELETE', path),
}

/** Unwraps a list envelope into its attributes. */
export async function list<T>(path: string): Promise<T[]> {
  const body = await api.get<List<T>>(path)
  return (body?.data ?? []).map((d) => d.attributes)
}

/** A readable message for any failure (HTTP error detail, network failure, …). */
export function errorMessage(err: unknown): string {
  if (err instanceof WirehubHttpError) return err.message
  if (err instanceof TypeError) return 'The server could not be reached.'
  return err instanceof Error ? err.message : String(err)
}

export function isStatus(err: unknown, ...status: number[]): boolean {
  return err instanceof WirehubHttpError && status.includes(err.status)
}

/** `POST /api/client/.../power`, 204 (Pterodactyl). */
export const power = (server: string, signal: 'start' | 'stop' | 'restart' | 'kill') =>
  api.post<void>(`/api/client/servers/${encodeURIComponent(server)}/power`, { signal })

export const command = (server: string, cmd: string) => api.post<void>(`/api/client/servers/${encodeURIComponent(server)}/command`, { command: cmd })
