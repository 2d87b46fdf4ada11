/**
 * The time-range control of a page: one button per preset and "Reset zoom" while zoomed. Every
 * chart on the page follows the one `TimeRange` it edits.
 */
import { h } from '../lib/dom.js'
import { dateTime } from '../lib/format.js'
import { PRESETS, type TimeRange } from './chart.js'

export function rangeBar(range: TimeRange): { el: HTMLElement; dispose(): void } {
  const buttons = PRESETS.map((p) =>
    h('button', { class: 'tab', type: 'button', 'data-range': p.id, 'aria-pressed': 'false', on: { click: () => range.setPreset(p.id) } }, p.label),
  )
  const zoomNote = h('span', { class: 'muted small', 'data-testid': 'zoom-note' })
  const reset = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', 'data-testid': 'reset-zoom', on: { click: () => range.resetZoom() } }, 'Reset zoom')
  const el = h(
    'div',
    { class: 'range-bar', role: 'group', 'aria-label': 'Time range of the charts' },
    h('span', { class: 'muted small' }, 'Last'),
    h('div', { class: 'tabs' }, buttons),
    zoomNote,
    reset,
  )
  const show = () => {
    for (const b of buttons) {
      const on = !range.zoom && b.dataset.range === range.preset.id
      b.classList.toggle('active', on)
      b.setAttribute('aria-pressed', String(on))
    }
    reset.hidden = !range.zoom
    zoomNote.hidden = !range.zoom
    zoomNote.textContent = range.zoom ? `${dateTime(range.zoom[0])} – ${dateTime(range.zoom[1])} (drag to zoom, double-click to reset)` : ''
  }
  show()
  const off = range.on(show)
  return { el, dispose: off }
}
