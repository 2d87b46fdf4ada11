/**
 * The alert feed: newest first, filtered by state and severity, live (new alerts from the
 * session's `alerts` subscription are prepended), with acknowledge / resolve on each.
 */
import { errorMessage, list, type Alert, type Device } from '../lib/api.js'
import { emptyState, h, replace, spinner } from '../lib/dom.js'
import { alertFromMessage, alertItem } from '../ui/alerts.js'
import type { View, ViewContext } from './view.js'

const FILTERS = [
  { id: 'open', label: 'Open', query: 'status=open' },
  { id: 'acknowledged', label: 'Acknowledged', query: 'status=acknowledged' },
  { id: 'resolved', label: 'Resolved', query: 'status=resolved' },
  { id: 'all', label: 'All', query: '' },
]

export function alertsView(ctx: ViewContext): View {
  ctx.setTitle('Alerts')
  let filter = 'open'
  let severity = ''
  let disposed = false
  const names = new Map<number, string>()
  const feed = h('div', { class: 'alert-list', 'data-testid': 'alert-feed' }, spinner('Loading alerts…'))
  const tabs = h(
    'div',
    { class: 'tabs', role: 'tablist' },
    FILTERS.map((f) => h('button', { class: `tab${f.id === filter ? ' active' : ''}`, role: 'tab', type: 'button', dataset: { filter: f.id }, on: { click: () => setFilter(f.id) } }, f.label)),
  )
  const sevSelect = h(
    'select',
    { class: 'select-sm', 'aria-label': 'Severity', on: { change: () => ((severity = sevSelect.value), void load()) } },
    h('option', { value: '' }, 'All severities'),
    h('option', { value: 'critical' }, 'Critical'),
    h('option', { value: 'warning' }, 'Warning'),
    h('option', { value: 'info' }, 'Info'),
  )
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-head' }, tabs, sevSelect), feed))

  function setFilter(id: string): void {
    filter = id
    for (const t of tabs.querySelectorAll<HTMLElement>('.tab')) t.classList.toggle('active', t.dataset.filter === id)
    void load()
  }

  const empty = () =>
    emptyState('inbox', filter === 'open' ? 'All clear' : 'No alerts here', filter === 'open' ? 'No open alerts. New alerts appear here the moment a rule fires.' : 'Nothing matches this filter.')

  async function load(): Promise<void> {
    const q = [FILTERS.find((f) => f.id === filter)?.query, severity ? `severity=${severity}` : '', 'per_page=50'].filter(Boolean).join('&')
    try {
      const [alerts] = await Promise.all([list<Alert>(`/api/client/alerts?${q}`), names.size ? null : loadNames()])
      if (disposed) return
      replace(feed, alerts.length ? alerts.map((a) => alertItem(a, names.get(a.device_id))) : empty())
    } catch (err) {
      if (!disposed) replace(feed, emptyState('alert', 'Alerts are unavailable', errorMessage(err)))
    }
  }

  async function loadNames(): Promise<void> {
    try {
      for (const d of await list<Device>('/api/client/devices?per_page=100')) names.set(d.id, d.name)
    } catch {
      // names are a nicety; ids are shown instead
    }
  }

  const off = ctx.session.channels.onAlert((m) => {
    if (disposed || (filter !== 'open' && filter !== 'all') || (severity && m.severity !== severity)) return
    if (feed.querySelector(`[data-alert="${m.alert_id}"]`)) return
    feed.querySelector('.empty')?.remove()
    const item = alertItem(alertFromMessage(m), names.get(m.device_id))
    item.classList.add('fresh')
    feed.prepend(item)
  })

  void load()
  return {
    el,
    dispose() {
      disposed = true
      off()
    },
  }
}
