/**
 * Time-series charts on uPlot that share one time range per page (`TimeRange`): presets (the
 * last 5 min … 24 h, following live) and zoom (drag across any chart; double-click or "Reset
 * zoom" returns to the preset). Charts of a page share the hover cursor, and the legend shows
 * the time and value under it. A pause in the data longer than `gapMs` is drawn as a gap rather
 * than a straight line; values carry their unit; times are 24-hour everywhere.
 *
 * Redraws are coalesced to one per animation frame (a burst of samples costs one draw).
 */
import uPlot from 'uplot'
import { clock, dateTime } from '../lib/format.js'

export interface SeriesSpec {
  label: string
  color: string
  /** Formats a value (legend, hover and axis), unit included. */
  fmt?: (v: number) => string
}

export interface LiveChartOptions {
  series: SeriesSpec[]
  range: TimeRange
  height?: number
  /** Points kept per series (older ones drop out). Default 2000. */
  maxPoints?: number
  /** Fixed y range (e.g. [0, 100] for percentages); default auto. */
  yRange?: [number, number]
  /** The quantity is never negative (CPU, memory, bytes): the axis never goes below 0. */
  nonNegative?: boolean
  /** Samples further apart than this are not joined by a line. Default 3 × the typical spacing, at least 15 s. */
  gapMs?: number
}

export interface RangePreset {
  id: string
  label: string
  ms: number
}

export const PRESETS: RangePreset[] = [
  { id: '5m', label: '5 min', ms: 5 * 60_000 },
  { id: '15m', label: '15 min', ms: 15 * 60_000 },
  { id: '1h', label: '1 h', ms: 3_600_000 },
  { id: '6h', label: '6 h', ms: 6 * 3_600_000 },
  { id: '24h', label: '24 h', ms: 24 * 3_600_000 },
]

/** The time window every chart of a page shows: a preset that follows now, or a zoomed span. */
export class TimeRange {
  preset: RangePreset
  /** [from, to] in ms while zoomed; null follows the preset. */
  zoom: [number, number] | null = null
  readonly syncKey = `range-${Math.random().toString(36).slice(2)}`
  private readonly listeners = new Set<(why: 'preset' | 'zoom') => void>()

  constructor(presetId = '15m') {
    this.preset = PRESETS.find((p) => p.id === presetId) ?? (PRESETS[1] as RangePreset)
  }

  /** The window in ms: [from, to]. */
  window(now = Date.now()): [number, number] {
    return this.zoom ?? [now - this.preset.ms, now]
  }

  setPreset(id: string): void {
    const p = PRESETS.find((x) => x.id === id)
    if (!p) return
    this.preset = p
    this.zoom = null
    this.emit('preset')
  }

  setZoom(from: number, to: number): void {
    if (!(to > from)) return
    this.zoom = [from, to]
    this.emit('zoom')
  }

  resetZoom(): void {
    if (!this.zoom) return
    this.zoom = null
    this.emit('zoom')
  }

  on(fn: (why: 'preset' | 'zoom') => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(why: 'preset' | 'zoom'): void {
    for (const fn of this.listeners) fn(why)
  }
}

export class LiveChart {
  private readonly plot: uPlot
  private readonly xs: number[] = []
  private readonly ys: Array<Array<number | null>>
  private frame = 0
  private readonly resize: ResizeObserver
  private readonly max: number
  private readonly offRange: () => void
  private readonly tick: number
  private hovering = false

  constructor(
    readonly el: HTMLElement,
    private readonly opts: LiveChartOptions,
  ) {
    this.max = opts.maxPoints ?? 2000
    this.ys = opts.series.map(() => [])
    const fmt = opts.series[0]?.fmt ?? ((v: number) => String(Math.round(v * 100) / 100))
    const range = opts.range
    this.plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: opts.height ?? 180,
        // The legend is the hover readout: time and each series' value under the cursor.
        legend: { show: true, live: true },
        cursor: {
          drag: { x: true, y: false, setScale: false },
          points: { size: 6 },
          sync: { key: range.syncKey, setSeries: false },
        },
        scales: {
          x: { time: true, auto: false, range: () => this.xWindow() },
          y: opts.yRange ? { range: () => opts.yRange as [number, number] } : { range: (_u, min, max) => padRange(min, max, opts.nonNegative ?? false) },
        },
        axes: [
          {
            stroke: '#475569',
            grid: { stroke: '#eef1f6', width: 1 },
            ticks: { stroke: '#e2e8f0', width: 1 },
            font: '11px system-ui, sans-serif',
            space: 70,
            // Whole seconds and up: sub-second ticks would repeat the same clock label.
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
            values: (_u, splits, _ax, _space, incr) => splits.map((v) => clock(v * 1000, incr < 60)),
          },
          {
            stroke: '#475569',
            grid: { stroke: '#eef1f6', width: 1 },
            ticks: { show: false },
            font: '11px system-ui, sans-serif',
            size: 72,
            values: (_u, splits) => dedupe(splits.map((v) => fmt(v))),
          },
        ],
        series: [
          { label: 'Time', value: (_u: uPlot, v: number | null) => (v === null ? '—' : dateTime(v * 1000)) },
          ...opts.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            fill: s.color + '1f',
            spanGaps: false,
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : (s.fmt ?? fmt)(v)),
          })),
        ],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 4) return
              const from = u.posToVal(u.select.left, 'x') * 1000
              const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
              range.setZoom(from, to)
            },
          ],
        },
      },
      [this.xs, ...this.ys] as uPlot.AlignedData,
      el,
    )
    this.plot.over.addEventListener('dblclick', () => range.resetZoom())
    // Away from the cursor, the legend shows the latest sample instead of dashes.
    this.plot.over.addEventListener('mouseenter', () => (this.hovering = true))
    this.plot.over.addEventListener('mouseleave', () => {
      this.hovering = false
      this.showLatest()
    })
    this.offRange = range.on(() => this.redraw())
    this.resize = new ResizeObserver(() => {
      const w = el.clientWidth
      if (w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: this.plot.height })
    })
    this.resize.observe(el)
    // Following "now" moves the window even when no sample arrives.
    this.tick = window.setInterval(() => {
      if (!range.zoom) this.redraw()
    }, 5000)
  }

  /** Number of samples held. */
  get size(): number {
    return this.xs.length
  }

  /** Appends one sample (time in ms; one value per series, null for none). */
  push(tMs: number, values: Array<number | null>): void {
    const t = tMs / 1000
    // Samples may arrive out of order (history + live); keep x sorted, and one sample per time.
    let i = this.xs.length
    while (i > 0 && (this.xs[i - 1] as number) > t) i--
    if (i > 0 && this.xs[i - 1] === t) {
      this.ys.forEach((arr, k) => (arr[i - 1] = values[k] ?? arr[i - 1] ?? null))
    } else {
      this.xs.splice(i, 0, t)
      this.ys.forEach((arr, k) => arr.splice(i, 0, values[k] ?? null))
    }
    if (this.xs.length > this.max) {
      const drop = this.xs.length - this.max
      this.xs.splice(0, drop)
      for (const arr of this.ys) arr.splice(0, drop)
    }
    this.redraw()
  }

  clear(): void {
    this.xs.length = 0
    for (const arr of this.ys) arr.length = 0
    this.redraw()
  }

  private xWindow(): [number, number] {
    const [from, to] = this.opts.range.window()
    return [from / 1000, to / 1000]
  }

  /** The data with a null inserted wherever two samples are further apart than the gap. */
  private gapped(): uPlot.AlignedData {
    const xs = this.xs
    if (xs.length < 2) return [xs, ...this.ys] as uPlot.AlignedData
    const gap = this.gapSec()
    const outX: number[] = []
    const outY: Array<Array<number | null>> = this.ys.map(() => [])
    for (let i = 0; i < xs.length; i++) {
      if (i > 0 && (xs[i] as number) - (xs[i - 1] as number) > gap) {
        outX.push(((xs[i] as number) + (xs[i - 1] as number)) / 2)
        for (const arr of outY) arr.push(null)
      }
      outX.push(xs[i] as number)
      this.ys.forEach((arr, k) => outY[k]!.push(arr[i] ?? null))
    }
    return [outX, ...outY] as uPlot.AlignedData
  }

  private gapSec(): number {
    if (this.opts.gapMs) return this.opts.gapMs / 1000
    // 3 × the median spacing of the latest samples: robust to one long pause.
    const n = Math.min(this.xs.length - 1, 50)
    const d: number[] = []
    for (let i = this.xs.length - n; i < this.xs.length; i++) d.push((this.xs[i] as number) - (this.xs[i - 1] as number))
    d.sort((a, b) => a - b)
    return Math.max(15, 3 * (d[Math.floor(d.length / 2)] ?? 5))
  }

  private redraw(): void {
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.plot.setData(this.gapped())
      this.el.dataset.points = String(this.xs.length)
      this.showLatest()
    })
  }

  private showLatest(): void {
    const n = this.plot.data[0]?.length ?? 0
    if (!this.hovering && n > 0) this.plot.setLegend({ idx: n - 1 })
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame)
    clearInterval(this.tick)
    this.offRange()
    this.resize.disconnect()
    this.plot.destroy()
  }
}

/**
 * The y range: 10 % headroom; a flat series gets a band proportional to its value (so the axis
 * labels differ); never below 0 for quantities that cannot be negative.
 */
export function padRange(min: number | null, max: number | null, nonNegative: boolean): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1]
  let lo: number
  let hi: number
  if (min === max) {
    const pad = Math.max(Math.abs(min) * 0.1, 1)
    lo = min - pad
    hi = max + pad
  } else {
    const pad = (max - min) * 0.1
    lo = min - pad
    hi = max + pad
  }
  if (nonNegative && lo < 0) lo = 0
  return [lo, hi]
}

/** Blank repeated neighbouring labels (a formatter rounding two ticks to the same text). */
function dedupe(labels: string[]): string[] {
  return labels.map((l, i) => (i > 0 && l === labels[i - 1] ? '' : l))
}

export const COLORS = ['#4f46e5', '#0284c7', '#059669', '#d97706', '#dc2626', '#7c3aed', '#0d9488', '#db2777']
