/**
 * Latency histograms (hdr-histogram-js, microseconds) and their transport between processes
 * (compressed base64), plus summary helpers.
 */
import * as hdr from 'hdr-histogram-js'

export type Histogram = hdr.Histogram

export const newHist = (): Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false })

export const encodeHist = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h)

export function mergeHists(encoded: string[]): Histogram {
  const total = newHist()
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 32, false)
    total.add(h)
    h.destroy()
  }
  return total
}

export interface LatencySummary {
  count: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us / 10) / 100
  return { count: h.totalCount, p50Ms: ms(h.getValueAtPercentile(50)), p99Ms: ms(h.getValueAtPercentile(99)), maxMs: ms(h.maxValue) }
}
