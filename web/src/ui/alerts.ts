/** An alert row with its severity, state and the acknowledge / resolve actions. */
import { api, errorMessage, type Alert, type Item } from '../lib/api.js'
import { badge, button, h, replace, toast } from '../lib/dom.js'
import { ago, num, time } from '../lib/format.js'

const SEVERITY_KIND: Record<string, string> = { critical: 'red', warning: 'amber', info: 'blue' }

export function alertItem(a: Alert, deviceName?: string): HTMLElement {
  const el = h('article', { class: `alert-item sev-${a.severity}`, dataset: { alert: String(a.id), status: a.status } })
  const render = (x: Alert) => {
    el.dataset.status = x.status
    const act = async (what: 'acknowledge' | 'resolve') => {
      try {
        const updated = await api.post<Item<Alert>>(`/api/client/alerts/${x.id}/${what}`)
        render(updated?.attributes ?? { ...x, status: what === 'acknowledge' ? 'acknowledged' : 'resolved' })
        toast(`Alert #${x.id} ${what === 'acknowledge' ? 'acknowledged' : 'resolved'}.`, 'success')
      } catch (err) {
        toast(errorMessage(err), 'error', `Could not ${what} the alert`)
      }
    }
    const meta = x.metadata ?? {}
    replace(
      el,
      h('div', { class: 'alert-sev' }, badge(x.severity, SEVERITY_KIND[x.severity] ?? 'gray')),
      h(
        'div',
        { class: 'alert-main' },
        h('div', { class: 'alert-title' }, h('strong', null, x.title), badge(x.status)),
        h('div', { class: 'alert-msg' }, x.message),
        h(
          'div',
          { class: 'alert-meta muted small' },
          h('a', { href: `#/devices/${x.device_id}` }, deviceName ?? `Device #${x.device_id}`),
          ' · ',
          h('span', { title: time(x.created_at) }, ago(x.created_at)),
          meta.actual_value !== undefined ? ` · value ${num(meta.actual_value)}` : '',
          meta.threshold_value !== undefined ? ` (threshold ${num(meta.threshold_value)})` : '',
          ` · ${x.alert_type}`,
        ),
      ),
      h(
        'div',
        { class: 'alert-actions' },
        x.status === 'open' ? button('Acknowledge', { kind: 'secondary', icon: 'check', testid: 'acknowledge', onClick: () => void act('acknowledge') }) : null,
        x.status !== 'resolved' ? button('Resolve', { kind: 'ghost', testid: 'resolve', onClick: () => void act('resolve') }) : null,
      ),
    )
  }
  render(a)
  return el
}

/** The REST shape of an alert pushed on the alerts channel (status is open when it is raised). */
export function alertFromMessage(m: { alert_id: number; device_id: number; severity: Alert['severity']; title: string; message: string; timestamp: string; alert_type?: string; metadata?: Alert['metadata'] }): Alert {
  return {
    id: m.alert_id,
    rule_id: null,
    device_id: m.device_id,
    severity: m.severity,
    alert_type: m.alert_type ?? 'threshold',
    title: m.title,
    message: m.message,
    metadata: m.metadata ?? {},
    status: 'open',
    acknowledged_at: null,
    resolved_at: null,
    created_at: m.timestamp,
  }
}
