/**
 * Ingestion bodies → readings, checked field by field. Three forms are accepted:
 *  - `{"telemetry":{"t":{"value":25,"unit":"C","timestamp":"…"}}}` (one reading; a metric may
 *    also be the plain number: `{"telemetry":{"t":25}}`);
 *  - `{"readings":[{"timestamp":"…","telemetry":{…}}, …]}` (a batch, same metric forms);
 *  - the flat ThingsBoard-style body `{"t":25,"h":{"value":40,"unit":"%"}}` (one reading; the
 *    names `telemetry` and `readings` are not metric names).
 *
 * Everything PostgreSQL would refuse is refused here, before a row can join a group INSERT
 * shared with other devices' requests (where one bad row would fail them all): non-finite and
 * out-of-range numbers, timestamps PostgreSQL cannot store (year 0, invalid days), control
 * characters (NUL) and over-long text. A leap second (`:60`) is stored as the next second, as
 * PostgreSQL itself reads it. Pure: no Fastify, no database; shared by HTTP and other transports.
 */
import type { MetricSample } from './devices.messages.js'

export const METRIC_RE = /^[A-Za-z0-9_.:-]{1,64}$/
export const MAX_METRICS_PER_READING = 64
export const MAX_UNIT_LENGTH = 32
/**
 * Largest magnitude stored. Rollups and bucket averages add values up in float8; keeping each
 * value within ±1e300 means a sum overflows only past ~10^8 extreme readings in one bucket.
 */
export const MAX_ABS_VALUE = 1e300
/** Readings may be timestamped at most this far ahead of the server clock (clock skew). */
export const MAX_FUTURE_MS = 86_400_000
const MIN_TS_MS = 0 // 1970-01-01: an unset device clock still stores; older is a bad value

/** A refused body: the field (dotted path) and why. Rendered as 400 naming the field. */
export class ReadingError extends Error {
  readonly statusCode = 400
  readonly validationContext = 'body'
  readonly validation: Array<{ instancePath: string; keyword: string; params: Record<string, never>; message: string }>
  constructor(
    readonly field: string,
    message: string,
    keyword = 'invalid',
  ) {
    super(`${field} ${message}`)
    this.validation = [{ instancePath: '/' + field.split('.').join('/'), keyword, params: {}, message }]
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * An RFC 3339 timestamp → milliseconds since the epoch, or an error message. Leap seconds
 * (`23:59:60`) become the following second, as PostgreSQL stores them.
 */
export function parseTimestamp(text: string, now: number | null = Date.now()): number | string {
  const canonical = canonicalMs(text)
  if (canonical !== null) {
    if (now === null) return canonical
    if (canonical < MIN_TS_MS) return 'must not be before 1970-01-01'
    if (canonical > now + MAX_FUTURE_MS) return 'must not be more than a day in the future'
    return canonical
  }
  if (text.length > 40) return 'must be at most 40 characters'
  const m = RFC3339.exec(text)
  if (!m) return 'must be an ISO 8601 date-time (e.g. 2024-01-01T00:00:00Z)'
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number]
  const leapYear = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && !leapYear ? 28 : DAYS[month - 1]!)) return 'is not a calendar date'
  if (hour > 23 || minute > 59 || second > 60) return 'is not a time of day'
  const leap = second === 60
  const normal = leap ? `${text.slice(0, 17)}59${text.slice(19)}` : text
  let ms = Date.parse(normal.replace(' ', 'T'))
  if (Number.isNaN(ms)) return 'is not a valid date-time'
  if (leap) ms += 1000
  // `now` null: any date PostgreSQL can store (query bounds); the 4-digit year keeps it in range.
  if (now === null) return year === 0 ? 'must not be in year 0' : ms
  if (ms < MIN_TS_MS) return 'must not be before 1970-01-01'
  if (ms > now + MAX_FUTURE_MS) return 'must not be more than a day in the future'
  return ms
}

const digit = (text: string, i: number) => text.charCodeAt(i) - 48

/** `text[from, from+n)` as a number when those are all ASCII digits, else -1. */
function digits(text: string, from: number, n: number): number {
  let v = 0
  for (let i = from; i < from + n; i++) {
    const d = digit(text, i)
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

/**
 * The fast path for the form nearly every device sends, `toISOString()`'s own
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`, years 100–9999, no leap second): its milliseconds, or null for
 * anything else (the general parser then decides). In that form the text is already the
 * normalised timestamp, so a batch of readings costs no Date objects or regular expressions.
 */
function canonicalMs(text: string): number | null {
  if (text.length !== 24 || text.charCodeAt(23) !== 90 /* Z */ || text.charCodeAt(10) !== 84 /* T */) return null
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':' || text[19] !== '.') return null
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  const day = digits(text, 8, 2)
  const hour = digits(text, 11, 2)
  const minute = digits(text, 14, 2)
  const second = digits(text, 17, 2)
  const ms = digits(text, 20, 3)
  // Years below 100 (Date.UTC reads them as 19xx), leap seconds and anything out of range: the general path.
  if (year < 100 || ms < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return null
  const leapYear = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > (month === 2 && !leapYear ? 28 : DAYS[month - 1]!)) return null
  return Date.UTC(year, month - 1, day, hour, minute, second, ms)
}

export interface NormalizeOptions {
  maxReadings: number
  /** metric → unit of the device, used when a reading carries none. */
  units: Record<string, string>
  now?: number
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkValue(v: unknown, field: string): number {
  if (typeof v !== 'number') throw new ReadingError(field, 'must be a number', 'type')
  if (!Number.isFinite(v)) throw new ReadingError(field, 'must be a finite number', 'type')
  if (Math.abs(v) > MAX_ABS_VALUE) throw new ReadingError(field, 'must be between -1e300 and 1e300', 'maximum')
  return v
}

function checkText(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string') throw new ReadingError(field, 'must be a string', 'type')
  if (v.length > max) throw new ReadingError(field, `must be at most ${max} characters`, 'maxLength')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new ReadingError(field, 'must not contain control characters (NUL, newlines …)', 'pattern')
  return v
}

function checkTimestamp(v: unknown, field: string, now: number): string {
  if (typeof v !== 'string') throw new ReadingError(field, 'must be a string', 'type')
  // Already in the stored form: the text itself (checked against `now` like any other).
  const canonical = canonicalMs(v)
  if (canonical !== null && canonical >= MIN_TS_MS && canonical <= now + MAX_FUTURE_MS) return v
  const ms = parseTimestamp(v, now)
  if (typeof ms === 'string') throw new ReadingError(field, ms, 'format')
  return new Date(ms).toISOString()
}

/** One reading's metric map (full or shorthand samples) → samples. */
function readingOf(map: unknown, field: string, readingTs: string, o: NormalizeOptions, now: number, skip?: ReadonlySet<string>): Record<string, MetricSample> {
  if (!isObject(map)) throw new ReadingError(field, 'must be an object of metric → value', 'type')
  const out: Record<string, MetricSample> = {}
  let n = 0
  for (const metric of Object.keys(map)) {
    if (skip?.has(metric)) continue
    const f = field === '' ? metric : `${field}.${metric}`
    if (!METRIC_RE.test(metric)) throw new ReadingError(f, 'is not a valid metric name (1–64 of A–Z a–z 0–9 _ . : -)', 'pattern')
    if (metric === '__proto__' || metric === 'constructor' || metric === 'prototype') throw new ReadingError(f, 'is a reserved name', 'pattern')
    if (++n > MAX_METRICS_PER_READING) throw new ReadingError(field || 'body', `must have at most ${MAX_METRICS_PER_READING} metrics`, 'maxProperties')
    const s = map[metric]
    if (typeof s === 'number' || !isObject(s)) {
      out[metric] = { value: checkValue(s, typeof s === 'number' ? f : `${f}.value`), unit: o.units[metric] ?? null, timestamp: readingTs }
      continue
    }
    let value: number | undefined
    let unit: string | null = o.units[metric] ?? null
    let timestamp = readingTs
    for (const key of Object.keys(s)) {
      if (key === 'value') value = checkValue(s.value, `${f}.value`)
      else if (key === 'unit') unit = checkText(s.unit, `${f}.unit`, MAX_UNIT_LENGTH)
      else if (key === 'timestamp') timestamp = checkTimestamp(s.timestamp, `${f}.timestamp`, now)
      else throw new ReadingError(`${f}.${key}`, 'is not an allowed property (value, unit, timestamp)', 'additionalProperties')
    }
    if (value === undefined) throw new ReadingError(`${f}.value`, 'is required', 'required')
    out[metric] = { value, unit, timestamp }
  }
  if (n === 0) throw new ReadingError(field || 'telemetry', 'must have at least one metric', 'minProperties')
  return out
}

/** The readings of an ingestion body, in order; throws ReadingError naming the first bad field. */
export function normalizeIngestBody(body: unknown, o: NormalizeOptions): Array<Record<string, MetricSample>> {
  const now = o.now ?? Date.now()
  const nowIso = new Date(now).toISOString()
  if (!isObject(body)) throw new ReadingError('body', 'must be a JSON object', 'type')
  const hasTelemetry = Object.hasOwn(body, 'telemetry')
  const hasReadings = Object.hasOwn(body, 'readings')
  if (!hasTelemetry && !hasReadings) {
    if (Object.keys(body).length === 0) throw new ReadingError('telemetry', 'send `telemetry` (one reading), `readings` (a batch) or metric → value pairs', 'required')
    return [readingOf(body, '', nowIso, o, now)]
  }
  if (hasTelemetry && hasReadings) throw new ReadingError('telemetry', 'send exactly one of `telemetry` (one reading) or `readings` (a batch)', 'required')
  for (const key of Object.keys(body)) {
    if (key !== 'telemetry' && key !== 'readings') throw new ReadingError(key, 'is not allowed next to `telemetry` or `readings`', 'additionalProperties')
  }
  if (hasTelemetry) return [readingOf(body.telemetry, 'telemetry', nowIso, o, now)]
  const list = body.readings
  if (!Array.isArray(list)) throw new ReadingError('readings', 'must be an array', 'type')
  if (list.length === 0) throw new ReadingError('readings', 'must have at least one reading', 'minItems')
  if (list.length > o.maxReadings) throw new ReadingError('readings', `must have at most ${o.maxReadings} readings`, 'maxItems')
  const out: Array<Record<string, MetricSample>> = new Array(list.length)
  for (let i = 0; i < list.length; i++) {
    const r: unknown = list[i]
    const f = `readings.${i}`
    if (!isObject(r)) throw new ReadingError(f, 'must be an object', 'type')
    let ts = nowIso
    for (const key of Object.keys(r)) {
      if (key === 'timestamp') ts = checkTimestamp(r.timestamp, `${f}.timestamp`, now)
      else if (key !== 'telemetry') throw new ReadingError(`${f}.${key}`, 'is not an allowed property (telemetry, timestamp)', 'additionalProperties')
    }
    if (!Object.hasOwn(r, 'telemetry')) throw new ReadingError(`${f}.telemetry`, 'is required', 'required')
    out[i] = readingOf(r.telemetry, `${f}.telemetry`, ts, o, now)
  }
  return out
}
