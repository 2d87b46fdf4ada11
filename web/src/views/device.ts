/**
 * One device: status, a live chart per metric (history from REST, then `telemetry_update`s on
 * the channels socket), the alert rules editor, and this device's alerts with their actions.
 */
import type { TelemetryUpdate } from '../../../packages/client/src/types.js'
import { api, errorMessage, isStatus, list, type Alert, type AlertRule, type Device, type Item, type Operator, type Reading, type Severity } from '../lib/api.js'
import { badge, button, detailHeader, emptyState, h, icon, modal, replace, spinner, toast } from '../lib/dom.js'
import { ago, num } from '../lib/format.js'
import { COLORS, LiveChart } from '../ui/chart.js'
import { alertFromMessage, alertItem } from '../ui/alerts.js'
import type { View, ViewContext } from './view.js'

const OPERATORS: Operator[] = ['>', '>=', '<', '<=', '==']
const SEVERITIES: Severity[] = ['info', 'warning', 'critical']

export function deviceView(ctx: ViewContext, [idText = '']: string[]): View {
  const id = Number(idText)
  ctx.setTitle(`Device #${id}`, [{ label: 'Devices', href: '#/devices' }])
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, spinner('Loading device…'))))
  const charts = new Map<string, { chart: LiveChart; value: HTMLElement }>()
  const offs: Array<() => void> = []
  let disposed = false

  void (async () => {
    let device: Device
    try {
      device = (await api.get<Item<Device>>(`/api/client/devices/${id}`)).attributes
    } catch (err) {
      if (disposed) return
      replace(el, h('div', { class: 'card' }, emptyState('device', isStatus(err, 404) ? 'Device not found' : 'Device unavailable', isStatus(err, 404) ? 'It does not exist or it is not yours.' : errorMessage(err), h('a', { class: 'btn btn-secondary', href: '#/devices' }, 'Back to devices'))))
      return
    }
    if (disposed) return
    ctx.setTitle(device.name, [{ label: 'Devices', href: '#/devices' }])
    render(device)
  })()

  function render(device: Device): void {
    /* header */
    let statusBadge = badge(device.status, undefined, true)
    statusBadge.dataset.testid = 'device-status'
    const seen = h('span', null, `last seen ${ago(device.last_seen_at)}`)
    const header = detailHeader(
      device.name,
      statusBadge,
      [h('span', { class: 'mono' }, `#${device.id}`), ' · ', h('span', { class: 'chip' }, device.type || 'generic'), ' · ', seen, ' · key ', h('span', { class: 'mono' }, device.key_identifier)],
      h('div', { class: 'muted small right' }, device.status_reason ?? ''),
    )

    /* metrics */
    const chartsGrid = h('div', { class: 'charts-grid', 'data-testid': 'device-charts' })
    const waiting = emptyState(
      'system',
      'Waiting for telemetry',
      `No readings yet. Post one with the device key to ${location.origin}/api/devices/${device.id}/telemetry and its chart appears here live.`,
    )
    chartsGrid.appendChild(waiting)

    const chartFor = (metric: string, unit: string | null | undefined) => {
      let c = charts.get(metric)
      if (c) return c
      waiting.remove()
      const value = h('span', { class: 'metric-value', 'data-testid': `metric-value-${metric}` }, '—')
      const unitText = unit ?? device.units?.[metric] ?? ''
      const chartEl = h('div', { class: 'chart', 'data-testid': `chart-${metric}` })
      chartsGrid.appendChild(h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', null, metric, unitText ? h('span', { class: 'muted' }, ` (${unitText})`) : null), value), h('div', { class: 'card-body' }, chartEl)))
      const color = COLORS[charts.size % COLORS.length] as string
      const chart = new LiveChart(chartEl, { series: [{ label: metric, color, fmt: (v) => `${num(v)}${unitText ? ' ' + unitText : ''}` }], height: 160, maxPoints: 500 })
      c = { chart, value }
      charts.set(metric, c)
      return c
    }
    const plot = (metric: string, v: number, ts: string, unit?: string | null) => {
      const c = chartFor(metric, unit)
      const t = Date.parse(ts)
      c.chart.push(Number.isFinite(t) ? t : Date.now(), [v])
      const u = unit ?? device.units?.[metric]
      c.value.textContent = `${num(v)}${u ? ' ' + u : ''}`
    }

    /* rules */
    const rulesBody = h('div', { class: 'card-body flush' }, spinner('Loading rules…'))
    const rulesCard = h(
      'div',
      { class: 'card' },
      h('div', { class: 'card-head' }, h('h2', null, 'Alert rules'), button('Add rule', { kind: 'primary', icon: 'plus', testid: 'add-rule', onClick: () => editRule(device, null, loadRules) })),
      rulesBody,
    )
    async function loadRules(): Promise<void> {
      let rules: AlertRule[]
      try {
        rules = await list<AlertRule>(`/api/client/devices/${device.id}/alert-rules`)
      } catch (err) {
        replace(rulesBody, emptyState('alert', 'Rules are unavailable', errorMessage(err)))
        return
      }
      if (disposed) return
      if (!rules.length) {
        replace(rulesBody, emptyState('alert', 'No alert rules', 'Add a rule to raise an alert when a metric crosses a threshold.'))
        return
      }
      replace(
        rulesBody,
        h(
          'table',
          { class: 'table', 'data-testid': 'rules-table' },
          h('thead', null, h('tr', null, h('th', null, 'Condition'), h('th', null, 'Severity'), h('th', null, 'Title'), h('th', null, 'Cooldown'), h('th', null, 'State'), h('th', { class: 'right' }, ''))),
          h(
            'tbody',
            null,
            rules.map((r) =>
              h(
                'tr',
                { dataset: { rule: String(r.id) } },
                h('td', { class: 'mono nowrap' }, `${r.metric} ${r.operator} ${num(r.threshold)}`, r.clear_threshold !== null ? h('span', { class: 'muted' }, ` (clears at ${num(r.clear_threshold)})`) : null),
                h('td', null, badge(r.severity, r.severity === 'critical' ? 'red' : r.severity === 'warning' ? 'amber' : 'blue')),
                h('td', { class: 'ellipsis muted', title: r.title }, r.title),
                h('td', { class: 'muted' }, `${r.cooldown} s`),
                h('td', null, !r.enabled ? badge('disabled', 'gray') : r.breached ? badge('breached', 'red') : badge('armed', 'green')),
                h(
                  'td',
                  { class: 'right nowrap' },
                  button(r.enabled ? 'Disable' : 'Enable', {
                    kind: 'ghost',
                    onClick: () =>
                      void api
                        .patch(`/api/client/devices/${device.id}/alert-rules/${r.id}`, { enabled: !r.enabled })
                        .then(loadRules, (e: unknown) => toast(errorMessage(e), 'error')),
                  }),
                  button('Edit', { kind: 'ghost', onClick: () => editRule(device, r, loadRules) }),
                  h(
                    'button',
                    {
                      class: 'icon-btn danger',
                      title: 'Delete rule',
                      'aria-label': 'Delete rule',
                      on: {
                        click: () => {
                          if (!confirm(`Delete the rule "${r.metric} ${r.operator} ${r.threshold}"?`)) return
                          api.del(`/api/client/devices/${device.id}/alert-rules/${r.id}`).then(loadRules, (e: unknown) => toast(errorMessage(e), 'error'))
                        },
                      },
                    },
                    icon('trash', 16),
                  ),
                ),
              ),
            ),
          ),
        ),
      )
    }

    /* alerts of this device */
    const alertsBody = h('div', { class: 'alert-list', 'data-testid': 'device-alerts' }, spinner('Loading alerts…'))
    const alertsCard = h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Recent alerts'), h('a', { href: '#/alerts', class: 'small' }, 'All alerts →')), alertsBody)
    const noAlerts = () => emptyState('inbox', 'No alerts', 'Alerts raised by this device’s rules appear here as they happen.')
    async function loadAlerts(): Promise<void> {
      try {
        const alerts = await list<Alert>(`/api/client/alerts?device_id=${device.id}&per_page=20`)
        if (disposed) return
        replace(alertsBody, alerts.length ? alerts.map((a) => alertItem(a, device.name)) : noAlerts())
      } catch (err) {
        replace(alertsBody, emptyState('inbox', 'Alerts are unavailable', errorMessage(err)))
      }
    }

    replace(el, header, h('h2', { class: 'section-title' }, 'Live metrics'), chartsGrid, rulesCard, alertsCard)

    /* live */
    const ch = ctx.session.channels
    offs.push(ch.subscribe('telemetry', { device_id: device.id, frequency: 'real-time' }))
    offs.push(
      ch.onTelemetry((u: TelemetryUpdate) => {
        if (u.device_id !== device.id) return
        for (const [metric, r] of Object.entries(u.telemetry)) plot(metric, r.value, r.timestamp, r.unit)
        seen.textContent = 'last seen just now'
      }),
    )
    offs.push(
      ch.onDeviceStatus((u) => {
        if (u.device_id !== device.id) return
        const b = badge(u.new_status, undefined, true)
        b.dataset.testid = 'device-status'
        statusBadge.replaceWith(b)
        statusBadge = b
      }),
    )
    offs.push(
      ch.onAlert((m) => {
        if (m.device_id !== device.id || alertsBody.querySelector(`[data-alert="${m.alert_id}"]`)) return
        alertsBody.querySelector('.empty')?.remove()
        alertsBody.prepend(alertItem(alertFromMessage(m), device.name))
        void loadRules()
      }),
    )

    // History after subscribing, so nothing falls between the two.
    void (async () => {
      try {
        const readings = await list<Reading>(`/api/client/devices/${device.id}/telemetry?limit=1000`)
        if (disposed) return
        readings.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
        for (const r of readings) plot(r.metric, r.value, r.timestamp, r.unit)
      } catch (err) {
        if (!disposed) toast(errorMessage(err), 'error', 'Could not load telemetry history')
      }
    })()
    void loadRules()
    void loadAlerts()
  }

  return {
    el,
    dispose() {
      disposed = true
      for (const off of offs) off()
      for (const c of charts.values()) c.chart.destroy()
    },
  }
}

/** Create or edit a rule in a dialog. */
function editRule(device: Device, rule: AlertRule | null, done: () => Promise<void>): void {
  modal(rule ? 'Edit alert rule' : 'New alert rule', (close) => {
    const metrics = Object.keys(device.units ?? {})
    const metric = h('input', { name: 'metric', required: true, list: 'metric-names', value: rule?.metric ?? metrics[0] ?? '', placeholder: 'temperature' })
    const datalist = h('datalist', { id: 'metric-names' }, metrics.map((m) => h('option', { value: m })))
    const operator = h('select', { name: 'operator' }, OPERATORS.map((o) => h('option', { value: o, selected: (rule?.operator ?? '>') === o }, o)))
    const threshold = h('input', { name: 'threshold', type: 'number', step: 'any', required: true, value: rule ? String(rule.threshold) : '' })
    const clear = h('input', { name: 'clear_threshold', type: 'number', step: 'any', value: rule?.clear_threshold ?? '', placeholder: 'same as threshold' })
    const severity = h('select', { name: 'severity' }, SEVERITIES.map((s) => h('option', { value: s, selected: (rule?.severity ?? 'warning') === s }, s)))
    const cooldown = h('input', { name: 'cooldown', type: 'number', min: '0', step: '1', value: String(rule?.cooldown ?? 300) })
    const title = h('input', { name: 'title', maxlength: '191', value: rule?.title ?? '', placeholder: '{{metric}} on {{device_name}} is {{value}}{{unit}}' })
    const message = h('input', { name: 'message', maxlength: '1000', value: rule?.message ?? '', placeholder: '{{metric}} {{operator}} {{threshold}} (default message)' })
    const err = h('div', { class: 'form-error', hidden: true })
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, rule ? 'Save rule' : 'Create rule')
    return h(
      'form',
      {
        class: 'form',
        on: {
          submit: (e) => {
            e.preventDefault()
            const body: Record<string, unknown> = {
              metric: metric.value.trim(),
              operator: operator.value,
              threshold: Number(threshold.value),
              severity: severity.value,
              cooldown: Number(cooldown.value || 0),
            }
            // Empty means "the threshold itself": omitted on create, null when clearing an edit.
            if (clear.value !== '') body.clear_threshold = Number(clear.value)
            else if (rule && rule.clear_threshold !== null) body.clear_threshold = null
            if (title.value.trim()) body.title = title.value.trim()
            if (message.value.trim()) body.message = message.value.trim()
            submit.disabled = true
            const req = rule ? api.patch(`/api/client/devices/${device.id}/alert-rules/${rule.id}`, body) : api.post(`/api/client/devices/${device.id}/alert-rules`, body)
            req.then(
              () => {
                close()
                toast(rule ? 'Rule saved.' : 'Rule created.', 'success')
                void done()
              },
              (e2: unknown) => {
                err.textContent = errorMessage(e2)
                err.hidden = false
                submit.disabled = false
              },
            )
          },
        },
      },
      err,
      datalist,
      h('div', { class: 'form-row' }, h('label', { class: 'field grow' }, h('span', null, 'Metric'), metric), h('label', { class: 'field' }, h('span', null, 'Operator'), operator), h('label', { class: 'field' }, h('span', null, 'Threshold'), threshold)),
      h('div', { class: 'form-row' }, h('label', { class: 'field' }, h('span', null, 'Severity'), severity), h('label', { class: 'field' }, h('span', null, 'Clear threshold'), clear), h('label', { class: 'field' }, h('span', null, 'Cooldown (s)'), cooldown)),
      h('label', { class: 'field' }, h('span', null, 'Title ', h('em', { class: 'muted' }, 'optional template')), title),
      h('label', { class: 'field' }, h('span', null, 'Message ', h('em', { class: 'muted' }, 'optional template')), message),
      h('div', { class: 'modal-actions' }, button('Cancel', { onClick: close }), submit),
    )
  })
}

