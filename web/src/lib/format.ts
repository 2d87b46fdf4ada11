/** Number, size, duration and time formatting for the dashboard. */
import prettyBytes from 'pretty-bytes'

/** 1536 → "1.5 KiB" (binary units, 3 significant digits). */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return prettyBytes(n, { binary: true })
}

export function percent(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return `${n.toFixed(digits)} %`
}

export function num(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return Number.isInteger(n) ? String(n) : n.toFixed(digits).replace(/\.?0+$/, '')
}

/** 3 661 000 ms → "1h 1m". */
export function duration(ms: number | null | undefined): string {
  if (!ms || ms < 0) return '—'
  const s = Math.floor(ms / 1000)
  const d = Math.floor(s / 86400)
  const hh = Math.floor((s % 86400) / 3600)
  const mm = Math.floor((s % 3600) / 60)
  if (d) return `${d}d ${hh}h`
  if (hh) return `${hh}h ${mm}m`
  if (mm) return `${mm}m ${s % 60}s`
  return `${s}s`
}

// In the browser's language, like the dates below: "12 seconds ago", "5 minutes ago".
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: 'always', style: 'long' })

/** "just now", "12 seconds ago", "5 minutes ago", "3 hours ago", or a date for older times. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never'
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return '—'
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 5) return 'just now'
  if (s < 60) return RELATIVE.format(-s, 'second')
  if (s < 3600) return RELATIVE.format(-Math.floor(s / 60), 'minute')
  if (s < 86400) return RELATIVE.format(-Math.floor(s / 3600), 'hour')
  return new Date(t).toLocaleDateString()
}

// One clock everywhere: 24-hour, in the browser's locale order (no AM/PM anywhere).
const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
const CLOCK_S = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
const CLOCK_M = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })

/** A date and 24-hour time, e.g. "02/12/2026, 14:05:09" (locale order). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  return Number.isFinite(t) ? DATE_TIME.format(t) : '—'
}

export function dateTime(ms: number): string {
  return DATE_TIME.format(ms)
}

/** 24-hour wall-clock time, with seconds for short spans. */
export function clock(ms: number, seconds = true): string {
  return (seconds ? CLOCK_S : CLOCK_M).format(ms)
}
