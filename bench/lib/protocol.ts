/**
 * What travels between the benchmark's processes: the IPC messages of load generator workers
 * and the publisher, and the stamp every publication carries. The stamp is a single number so it
 * survives any target's encoding (wirehub stores it as a telemetry reading's value):
 * `step * 1e8 + (sendTimeMs mod 1e8)` — the step tags which measurement window a message belongs
 * to (late messages of an earlier window are counted apart), the rest is the wall-clock send time
 * modulo ~27.8 h. The modulo keeps the number small: with the full epoch time (~1.8e12 ms) and a
 * step scale above it, a step of 900 000 put the stamp near 9e18, where float64's resolution is
 * 1024 ms — every latency read as 0 or ~500 ms. Below 1e15 the resolution is finer than 0.125 ms.
 */
export const STEP_SCALE = 1e8

/** Wall-clock milliseconds with a fractional part, comparable across processes. */
export const nowMs = (): number => performance.timeOrigin + performance.now()

export const stamp = (step: number): number => step * STEP_SCALE + (nowMs() % STEP_SCALE)

/** Milliseconds from a stamp's send time to now (handles the modulo wrap); `step` is the stamp's. */
export function sinceStamp(v: number, step: number): number {
  const d = (nowMs() % STEP_SCALE) - (v - step * STEP_SCALE)
  return d < -STEP_SCALE / 2 ? d + STEP_SCALE : d
}

/** The metric name the benchmark publishes (one metric, so one collapse key per device). */
export const METRIC = 'lat'

export type ClientKind = 'ws' | 'socketio'

/** Which devices a client subscribes to: one (i mod D), or all of them. */
export type Follow = 'one' | 'all'

/** How a worker reaches a target. */
export interface TargetConn {
  kind: ClientKind
  /** ws://host:port/ws or http://host:port for Socket.IO. */
  url: string
  /** Base URL of the HTTP API, to fetch socket tokens (wirehub). */
  httpUrl: string
  /** Client API key for `GET /api/client/websocket`; null: targets without real auth. */
  clientKey: string | null
}

export type WorkerCommand =
  /** `follow: 'all'`: every connection subscribes to every device (wide scenario); default: device i mod D. */
  /** `waitForGo`: after fetching tokens, wait for `go` before connecting (the harness reads the server's CPU in between). */
  | { cmd: 'connect'; target: TargetConn; count: number; firstIndex: number; devices: number[]; localAddresses: string[]; concurrency: number; follow?: Follow; waitForGo?: boolean }
  | { cmd: 'go' }
  | { cmd: 'reset'; step: number }
  | { cmd: 'collect' }
  | { cmd: 'pause'; index: number }
  | { cmd: 'close' }

export type WorkerEvent =
  | { ev: 'tokens'; ms: number; failed: number }
  | { ev: 'connected'; ok: number; failed: number; ms: number; errors: string[] }
  | { ev: 'reset' }
  | { ev: 'collected'; received: number; stale: number; other: number; closed: number; pausedReceived: number; hist: string }
  | { ev: 'paused'; device: number }
  | { ev: 'closed' }

export interface PublishDevice {
  id: number
  /** Device key for wirehub's ingestion endpoint; unused by the baselines. */
  key: string
}

export interface PublishJob {
  step: number
  mode: 'baseline' | 'wirehub'
  url: string
  devices: PublishDevice[]
  /** Publications per second (each goes to every subscriber of its device). */
  rate: number
  durationMs: number
  /**
   * Readings per publication: wirehub gets `{readings: [...]}` (one message per reading), the
   * baselines `{device_id, values: [...], ts}` (they send one message per value); 1 for fan-out runs.
   */
  batch: number
  maxInflight: number
}

export interface PublishResult {
  sent: number
  ok: number
  failed: number
  elapsedMs: number
  errors: string[]
}

/**
 * Parses the stamp out of a delivered frame without JSON.parse: the first `"value":` number.
 * Returns NaN if absent.
 */
const VALUE = Buffer.from('"value":')
export function readStamp(buf: Buffer): number {
  const i = buf.indexOf(VALUE)
  if (i < 0) return NaN
  let p = i + VALUE.length
  while (buf[p] === 0x20) p++
  let end = p
  const n = buf.length
  while (end < n) {
    const c = buf[end]!
    // digits, '.', 'e', 'E', '+', '-'
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) end++
    else break
  }
  return Number(buf.toString('latin1', p, end))
}

/** The telemetry_update text the baselines send (same shape and size as wirehub's). */
export function telemetryText(deviceId: number, value: number, ts: string): string {
  return JSON.stringify({ type: 'telemetry_update', channel: 'telemetry', device_id: deviceId, telemetry: { [METRIC]: { value, unit: 'ms', timestamp: ts } } })
}
