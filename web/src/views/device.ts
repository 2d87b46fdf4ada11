/**
 * One device: status, a chart per metric sharing one time range (history from REST for the
 * chosen window, then live, in one telemetry stream on the channels socket), commands to the device,
 * management (rename, telemetry retention, rotate the key, delete), the alert rules editor,
 * and this device's alerts with their actions.
 *
 * While the channels socket is down the status badge says "unknown" (never a stale "online"
 * next to a lost connection); when it is back, the device and the window's history are fetched
 * again. A device that cannot be loaded is retried until it can.
 */
import { api, errorMessage, isStatus, list, type Alert, type AlertRule, type Device, type Item, type Operator, type Severity } from '../lib/api.js'
import { badge, button, detailHeader, emptyState, h, icon, modal, replace, spinner, toast } from '../lib/dom.js'
import { ago, num } from '../lib/format.js'
import { COLORS, LiveChart, TimeRange } from '../ui/chart.js'
import { alertFromMessage, alertItem } from '../ui/alerts.js'
import { commandsCard } from '../ui/commands.js'
import { confirmDialog, formDialog, secretBox } from '../ui/forms.js'
import { rangeBar } from '../ui/range-bar.js'
import { retryLoad } from '../ui/retry.js'
import type { View, ViewContext } from './view.js'

const OPERATORS: Operator[] = ['>', '>=', '<', '<=', '==']
const SEVERITIES: Severity[] = ['info', 'warning', 'critical']

export function deviceView(ctx: ViewContext, [idText = '']: string[]): View {
  const id = Number(idText)
  ctx.setTitle(`Device #${id}`, [{ label: 'Devices', href: '#/devices' }])
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, spinner('Loading device…'))))
  const charts = new Map<string, { chart: LiveChart; value: HTMLElement }>()
  const offs: Array<() => void> = []
  const range = new TimeRange('15m')
  let disposed = false
  let rendered = false

  const loader = retryLoad({
    what: 'Device',
    icon: 'device',
    load: async () => {
      const device = (await api.get<Item<Device>>(`/api/client/devices/${id}`)).attributes
      if (disposed) return
      ctx.setTitle(device.name, [{ label: 'Devices', href: '#/devices' }])
      if (!rendered) render(device)
    },
    show: (e) => replace(el, e),
    terminal: (err) =>
      replace(el, h('div', { class: 'card' }, emptyState('device', isStatus(err, 404) ? 'Device not found' : 'Device unavailable', isStatus(err, 404) ? 'It does not exist or it is not yours.' : errorMessage(err), h('a', { class: 'btn btn-secondary', href: '#/devices' }, 'Back to devices')))),
  })

  function render(device: Device): void {
    rendered = true
    /* header */
    let statusBadge = badge(device.status, undefined, true)
    statusBadge.dataset.testid = 'device-status'
    const seen = h('span', null, `last seen ${ago(device.last_seen_at)}`)
    const keyId = h('span', { class: 'mono', 'data-testid': 'device-key-id' }, device.key_identifier)
    const reason = h('div', { class: 'muted small', 'data-testid': 'device-reason' })
    const setStatus = (status: string, why: string | null | undefined) => {
      const b = badge(status, status === 'unknown' ? 'gray' : undefined, true)
      b.dataset.testid = 'device-status'
      statusBadge.replaceWith(b)
      statusBadge = b
      reason.textContent = status === 'online' ? '' : (why ?? '')
    }
    setStatus(device.status, device.status_reason)
    const actions = h(
      'div',
      { class: 'btn-row' },
      button('Edit', { icon: 'edit', testid: 'device-rename', onClick: () => renameDevice(device, (d) => ((device = d), ctx.setTitle(d.name, [{ label: 'Devices', href: '#/devices' }]), (title.textContent = d.name))) }),
      button('Rotate key', { icon: 'key', testid: 'device-rotate', onClick: () => rotateKey(device, (d) => (keyId.textContent = d.key_identifier)) }),
      button('Delete', { icon: 'trash', kind: 'danger-outline', testid: 'device-delete', onClick: () => deleteDevice(device, () => ctx.go('#/devices')) }),
    )
    const header = detailHeader(
      device.name,
      statusBadge,
      [h('span', { class: 'mono' }, `#${device.id}`), ' · ', h('span', { class: 'chip' }, device.type || 'generic'), ' · ', seen, ' · key ', keyId],
      h('div', { class: 'stack', style: 'gap:6px;align-items:flex-end' }, actions, reason),
    )
    const title = header.querySelector('h2') as HTMLElement

    /* metrics */
    const chartsGrid = h('div', { class: 'charts-grid', 'data-testid': 'device-charts' })
    const waiting = emptyState(
      'system',
      'Waiting for telemetry',
      `No readings in this time range. Post one with the device key to ${location.origin}/api/devices/${device.id}/telemetry and its chart appears here live.`,
    )
    chartsGrid.appendChild(waiting)
    const bar = rangeBar(range)
    offs.push(bar.dispose)

    const chartFor = (metric: string, unit: string | null | undefined) => {
      let c = charts.get(metric)
      if (c) return c
      waiting.remove()
      const value = h('span', { class: 'metric-value', 'data-testid': `metric-value-${metric}` }, '—')
      const unitText = unit ?? device.units?.[metric] ?? ''
      const chartEl = h('div', { class: 'chart', 'data-testid': `chart-${metric}` })
      chartsGrid.appendChild(h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', null, metric, unitText ? h('span', { class: 'muted' }, ` (${unitText})`) : null), value), h('div', { class: 'card-body' }, chartEl)))
      const color = COLORS[charts.size % COLORS.length] as string
      const chart = new LiveChart(chartEl, { series: [{ label: metric, color, fmt: (v) => `${num(v)}${unitText ? ' ' + unitText : ''}` }], range, height: 160 })
      c = { chart, value }
      charts.set(metric, c)
      return c
    }
    let latestAt = 0
    const plot = (metric: string, v: number, ts: string, unit?: string | null) => {
      const c = chartFor(metric, unit)
      const t = Date.parse(ts)
      c.chart.push(Number.isFinite(t) ? t : Date.now(), [v])
      if (t >= latestAt || !Number.isFinite(t)) {
        latestAt = t
        const u = unit ?? device.units?.[metric]
        c.value.textContent = `${num(v)}${u ? ' ' + u : ''}`
      }
    }
    // History then live in one subscription (the SDK's telemetry stream): each reading once,
    // no gap at the seam, resumed from the last offset after a reconnect.
    let stopStream = () => {}
    const startStream = () => {
      stopStream()
      stopStream = ctx.session.channels.streamTelemetry(device.id, { since: new Date(range.window()[0]) }, {
        onReading: (r) => {
          for (const [metric, m] of Object.entries(r.telemetry)) plot(metric, m.value, m.timestamp, m.unit)
          if (!r.history) seen.textContent = 'last seen just now'
        },
      })
    }
    offs.push(() => stopStream())
    offs.push(
      range.on((why) => {
        if (why !== 'preset') return
        for (const c of charts.values()) c.chart.clear()
        startStream()
      }),
    )

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

    const commands = commandsCard(ctx.session, device.id)
    offs.push(commands.dispose)
    replace(
      el,
      header,
      h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Live metrics'), bar.el)),
      chartsGrid,
      commands.el,
      rulesCard,
      alertsCard,
    )

    /* live */
    const ch = ctx.session.channels
    offs.push(
      ch.onDeviceStatus((u) => {
        if (u.device_id === device.id) setStatus(u.new_status, u.reason)
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
    // The status shown is only as fresh as the socket: unknown while it is down, fetched again
    // once it is back (the telemetry stream catches up by itself).
    let wasDown = false
    offs.push(
      ch.on('state', (st) => {
        if (st !== 'ready') {
          if (!wasDown) setStatus('unknown', 'Reconnecting to wirehub…')
          wasDown = true
          return
        }
        if (!wasDown) return
        wasDown = false
        void api.get<Item<Device>>(`/api/client/devices/${device.id}`).then(
          (b) => {
            if (disposed) return
            setStatus(b.attributes.status, b.attributes.status_reason)
            seen.textContent = `last seen ${ago(b.attributes.last_seen_at)}`
          },
          () => {},
        )
        void loadAlerts()
      }),
    )

    startStream()
    void loadRules()
    void loadAlerts()
  }

  return {
    el,
    dispose() {
      disposed = true
      loader.stop()
      for (const off of offs) off()
      for (const c of charts.values()) c.chart.destroy()
    },
  }
}

function renameDevice(device: Device, done: (d: Device) => void): void {
  formDialog({
    title: 'Edit device',
    submitLabel: 'Save',
    testid: 'rename-form',
    fields: [
      { name: 'name', label: 'Name', required: true, value: device.name, row: 'a' },
      { name: 'type', label: 'Type', value: device.type, row: 'a' },
      {
        name: 'retention',
        label: 'Keep telemetry for (days)',
        type: 'number',
        min: 0,
        value: device.telemetry_retention_days ?? '',
        hint: 'Older readings are deleted. 0 keeps them forever; empty uses the server’s default.',
      },
    ],
    async onSubmit(v) {
      const body: Record<string, unknown> = { name: String(v.name).trim() }
      if (String(v.type).trim()) body.type = String(v.type).trim()
      if ('telemetry_retention_days' in device) body.telemetry_retention_days = String(v.retention).trim() === '' ? null : Number(v.retention)
      const d = (await api.patch<Item<Device>>(`/api/client/devices/${device.id}`, body)).attributes
      toast('Device saved.', 'success')
      done(d)
    },
  })
}

function rotateKey(device: Device, done: (d: Device) => void): void {
  formDialog({
    title: 'Rotate the device key',
    submitLabel: 'Rotate key',
    danger: true,
    intro: h('p', null, 'A new key is issued and the current one stops working at once: the device must be given the new key.'),
    fields: [],
    async onSubmit() {
      const res = await api.post<Item<Device> & { meta: { device_key: string } }>(`/api/client/devices/${device.id}/rotate-key`)
      done(res.attributes)
      return secretBox(res.meta.device_key, 'device-key', 'device key')
    },
  })
}

function deleteDevice(device: Device, done: () => void): void {
  confirmDialog({
    title: 'Delete device',
    text: `Delete “${device.name}” with its telemetry, rules and alerts? This cannot be undone.`,
    confirmLabel: 'Delete device',
    done: 'Device deleted.',
    onConfirm: async () => {
      await api.del(`/api/client/devices/${device.id}`)
      done()
    },
  })
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

