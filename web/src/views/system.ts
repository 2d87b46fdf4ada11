/**
 * System: the `system` channel's status stream (CPU, memory, disk, active connections) as
 * gauges and a live chart (with the page's time range and zoom), plus the health and readiness endpoints.
 */
import type { SystemStatusUpdate } from '../../../packages/client/src/types.js'
import { h, replace } from '../lib/dom.js'
import { percent, time } from '../lib/format.js'
import { LiveChart, TimeRange } from '../ui/chart.js'
import { rangeBar } from '../ui/range-bar.js'
import type { View, ViewContext } from './view.js'

const PERIOD = '2s'

export function systemView(ctx: ViewContext): View {
  ctx.setTitle('System')
  const gauge = (label: string, key: string, isPercent = true) => {
    const value = h('div', { class: 'tile-value', 'data-testid': `system-${key}` }, '—')
    const bar = h('div', { class: 'bar-fill' })
    const el = h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, label), value, isPercent ? h('div', { class: 'bar' }, bar) : h('div', { class: 'tile-sub muted small' }, 'sockets open now'))
    return { el, value, bar, isPercent }
  }
  const gauges = { cpu_usage: gauge('CPU', 'cpu'), memory_usage: gauge('Memory', 'memory'), disk_usage: gauge('Disk', 'disk'), active_connections: gauge('Connections', 'connections', false) }
  const updated = h('span', { class: 'muted small', 'data-testid': 'system-updated' }, 'Waiting for the first update…')
  const chartEl = h('div', { class: 'chart', 'data-testid': 'system-chart' })
  const range = new TimeRange('5m')
  const bar = rangeBar(range)
  const health = h('div', { class: 'kv' }, 'Checking…')
  const el = h(
    'section',
    { class: 'stack' },
    h('div', { class: 'tiles tiles-4' }, Object.values(gauges).map((g) => g.el)),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('div', null, h('h2', null, 'Usage'), updated), bar.el), h('div', { class: 'card-body' }, chartEl)),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Health')), h('div', { class: 'card-body' }, health)),
  )
  const chart = new LiveChart(chartEl, {
    series: [
      { label: 'CPU', color: '#4f46e5', fmt: (v) => `${v.toFixed(1)} %` },
      { label: 'Memory', color: '#0ea5e9', fmt: (v) => `${v.toFixed(1)} %` },
      { label: 'Disk', color: '#10b981', fmt: (v) => `${v.toFixed(1)} %` },
    ],
    range,
    height: 220,
    maxPoints: 5000,
    yRange: [0, 100],
  })

  const ch = ctx.session.channels
  const unsub = ch.subscribe('system', { frequency: PERIOD })
  const off = ch.onSystemStatus((u: SystemStatusUpdate) => {
    const m = u.metrics
    for (const [key, g] of Object.entries(gauges)) {
      const v = m[key]
      if (v === undefined) continue
      g.value.textContent = g.isPercent ? percent(v) : String(v)
      if (g.isPercent) {
        g.bar.style.width = `${Math.min(100, Math.max(0, v))}%`
        g.bar.className = `bar-fill ${v > 90 ? 'hot' : v > 70 ? 'warm' : ''}`
      }
    }
    chart.push(Date.parse(u.timestamp) || Date.now(), [m.cpu_usage ?? null, m.memory_usage ?? null, m.disk_usage ?? null])
    updated.textContent = `Updated ${time(u.timestamp)} · every ${PERIOD}`
  })

  void (async () => {
    const check = async (path: string) => {
      try {
        const res = await fetch(path, { headers: { accept: 'application/json' } })
        const body = (await res.json().catch(() => ({}))) as { status?: string; checks?: Record<string, unknown> }
        return { ok: res.ok, status: body.status ?? (res.ok ? 'ok' : `HTTP ${res.status}`), body }
      } catch {
        return { ok: false, status: 'unreachable', body: {} }
      }
    }
    const [live, ready] = await Promise.all([check('/health'), check('/ready')])
    const row = (label: string, r: { ok: boolean; status: string }) =>
      h('div', { class: 'kv-row' }, h('span', null, label), h('span', { class: `badge badge-${r.ok ? (r.status === 'degraded' ? 'amber' : 'green') : 'red'}` }, h('span', { class: 'dot' }), r.status))
    const checks = Object.entries((ready.body as { checks?: Record<string, unknown> }).checks ?? {})
    replace(
      health,
      row('Liveness (/health)', live),
      row('Readiness (/ready)', ready),
      checks.map(([k, v]) => {
        const s = typeof v === 'string' ? v : typeof v === 'object' && v && 'status' in v ? String((v as { status: unknown }).status) : JSON.stringify(v)
        return row(`· ${k}`, { ok: s !== 'down' && s !== 'error', status: s })
      }),
    )
  })()

  return {
    el,
    dispose() {
      unsub()
      off()
      bar.dispose()
      chart.destroy()
    },
  }
}
