/**
 * A live time-series chart on uPlot: a rolling window of points, redraws coalesced to one per
 * animation frame (a burst of samples costs one draw), resized with its container.
 */
import uPlot from 'uplot'

export interface SeriesSpec {
  label: string
  color: string
  /** Formats a value for the legend and the axis. */
  fmt?: (v: number) => string
}

export interface LiveChartOptions {
  series: SeriesSpec[]
  height?: number
  /** Points kept per series (older ones scroll out). Default 300. */
  maxPoints?: number
  /** Fixed y range (e.g. [0, 100] for percentages); default auto. */
  yRange?: [number, number]
}

export class LiveChart {
  private readonly plot: uPlot
  private readonly xs: number[] = []
  private readonly ys: number[][]
  private frame = 0
  private readonly resize: ResizeObserver
  private readonly max: number

  constructor(
    readonly el: HTMLElement,
    private readonly opts: LiveChartOptions,
  ) {
    this.max = opts.maxPoints ?? 300
    this.ys = opts.series.map(() => [])
    const fmt = opts.series[0]?.fmt ?? ((v: number) => String(Math.round(v * 100) / 100))
    const yRange = opts.yRange
    this.plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: opts.height ?? 180,
        // One series: the card's title names it; several: a static legend (no cursor readout).
        legend: { show: opts.series.length > 1, live: false },
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        scales: {
          // A lone point would collapse the time axis: show a minute around it.
          x: { time: true, range: (_u, min, max) => (min === max ? [min - 30, max + 30] : [min, max]) },
          y: yRange ? { range: () => yRange } : { range: (_u, min, max) => padRange(min, max) },
        },
        axes: [
          {
            stroke: '#64748b',
            grid: { stroke: '#eef1f6', width: 1 },
            ticks: { stroke: '#e2e8f0', width: 1 },
            font: '11px system-ui, sans-serif',
            space: 70,
            // Whole seconds and up: sub-second ticks would repeat the same clock label.
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400],
            values: (_u, splits) => splits.map((v) => clock(v)),
          },
          {
            stroke: '#64748b',
            grid: { stroke: '#eef1f6', width: 1 },
            ticks: { show: false },
            font: '11px system-ui, sans-serif',
            size: 64,
            values: (_u, splits) => splits.map((v) => fmt(v)),
          },
        ],
        series: [
          {},
          ...opts.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            fill: s.color + '1f',
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : (s.fmt ?? fmt)(v)),
          })),
        ],
      },
      [this.xs, ...this.ys],
      el,
    )
    this.resize = new ResizeObserver(() => {
      const w = el.clientWidth
      if (w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: this.plot.height })
    })
    this.resize.observe(el)
  }

  /** Number of points currently shown. */
  get size(): number {
    return this.xs.length
  }

  /** Appends one sample (time in ms; one value per series, null for a gap). */
  push(tMs: number, values: Array<number | null>): void {
    const t = tMs / 1000
    // Samples may arrive out of order (history + live); keep x sorted.
    let i = this.xs.length
    while (i > 0 && (this.xs[i - 1] as number) > t) i--
    this.xs.splice(i, 0, t)
    this.ys.forEach((arr, k) => arr.splice(i, 0, (values[k] ?? null) as number))
    if (this.xs.length > this.max) {
      const drop = this.xs.length - this.max
      this.xs.splice(0, drop)
      for (const arr of this.ys) arr.splice(0, drop)
    }
    this.schedule()
  }

  clear(): void {
    this.xs.length = 0
    for (const arr of this.ys) arr.length = 0
    this.schedule()
  }

  private schedule(): void {
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.plot.setData([this.xs, ...this.ys])
      this.el.dataset.points = String(this.xs.length)
    })
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame)
    this.resize.disconnect()
    this.plot.destroy()
  }
}

const clockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
/** Axis labels as wall-clock time (uPlot's default shows sub-second ticks on short windows). */
function clock(sec: number): string {
  return clockFmt.format(new Date(sec * 1000))
}

function padRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null) return [0, 1]
  if (min === max) return [min - 1, max + 1]
  const pad = (max - min) * 0.1
  return [min - pad, max + pad]
}

export const COLORS = ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#14b8a6', '#ec4899']
