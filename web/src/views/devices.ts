/**
 * Devices: the user's devices with their online/offline state (updated live from the session's
 * `devices` subscription) and a dialog that creates a device and shows its key once.
 */
import { api, errorMessage, list, type Device, type Item } from '../lib/api.js'
import { badge, button, emptyState, h, icon, modal, replace, spinner, toast } from '../lib/dom.js'
import { ago } from '../lib/format.js'
import type { View, ViewContext } from './view.js'

export function devicesView(ctx: ViewContext): View {
  ctx.setTitle('Devices')
  const body = h('div', { class: 'card-body flush' }, spinner('Loading devices…'))
  const count = h('span', { class: 'muted small' })
  const el = h(
    'section',
    { class: 'stack' },
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'card-head' }, h('div', null, h('h2', null, 'Devices'), count), button('New device', { kind: 'primary', icon: 'plus', testid: 'new-device', onClick: () => createDevice(ctx, () => void load()) })),
      body,
    ),
  )
  const statusCells = new Map<number, { badge: HTMLElement; seen: HTMLElement }>()
  let disposed = false

  async function load(): Promise<void> {
    let devices: Device[]
    try {
      devices = await list<Device>('/api/client/devices?per_page=100')
    } catch (err) {
      if (disposed) return
      replace(body, emptyState('device', 'Devices are unavailable', errorMessage(err)))
      return
    }
    if (disposed) return
    count.textContent = `${devices.length} device${devices.length === 1 ? '' : 's'}`
    statusCells.clear()
    if (!devices.length) {
      replace(
        body,
        emptyState(
          'device',
          'No devices yet',
          'Create a device to get its key, then post readings to /api/devices/<id>/telemetry. Charts and alerts appear here live.',
          button('Create your first device', { kind: 'primary', icon: 'plus', onClick: () => createDevice(ctx, () => void load()) }),
        ),
      )
      return
    }
    replace(
      body,
      h(
        'table',
        { class: 'table', 'data-testid': 'devices-table' },
        h('thead', null, h('tr', null, h('th', null, 'Device'), h('th', null, 'Type'), h('th', null, 'Status'), h('th', null, 'Metrics'), h('th', null, 'Last seen'))),
        h(
          'tbody',
          null,
          devices.map((d) => {
            const b = badge(d.status, undefined, true)
            const seen = h('td', { class: 'muted' }, ago(d.last_seen_at))
            statusCells.set(d.id, { badge: b, seen })
            const href = `#/devices/${d.id}`
            const metrics = Object.keys(d.units ?? {})
            return h(
              'tr',
              { class: 'row-link', dataset: { device: String(d.id) }, on: { click: (e) => (e.target as HTMLElement).closest('a') || ctx.go(href) } },
              h('td', null, h('div', { class: 'cell-title' }, h('a', { href }, d.name), h('span', { class: 'mono muted small' }, `#${d.id}`))),
              h('td', null, h('span', { class: 'chip' }, d.type || 'generic')),
              h('td', null, b),
              h('td', { class: 'muted' }, metrics.length ? metrics.join(', ') : '—'),
              seen,
            )
          }),
        ),
      ),
    )
  }

  const off = ctx.session.channels.onDeviceStatus((u) => {
    const cell = statusCells.get(u.device_id)
    if (!cell) return
    const b = badge(u.new_status, undefined, true)
    cell.badge.replaceWith(b)
    cell.badge = b
    cell.seen.textContent = u.new_status === 'online' ? 'just now' : ago(u.metadata?.last_seen ?? null)
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

/** The "new device" dialog; shows the device key once, with a ready-to-run curl line. */
export function createDevice(ctx: ViewContext, done: () => void): void {
  modal('New device', (close) => {
    const name = h('input', { name: 'name', required: true, maxlength: '191', placeholder: 'Greenhouse sensor' })
    const type = h('input', { name: 'type', maxlength: '64', placeholder: 'sensor' })
    const units = h('input', { name: 'units', placeholder: 'temperature=°C, humidity=%' })
    const err = h('div', { class: 'form-error', hidden: true })
    const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Create device')
    const form = h(
      'form',
      {
        class: 'form',
        on: {
          submit: (e) => {
            e.preventDefault()
            const unitMap: Record<string, string> = {}
            for (const part of units.value.split(',')) {
              const [k, v] = part.split('=').map((x) => x.trim())
              if (k) unitMap[k] = v ?? ''
            }
            submit.disabled = true
            api
              .post<Item<Device> & { meta: { device_key: string } }>('/api/client/devices', {
                name: name.value.trim(),
                ...(type.value.trim() ? { type: type.value.trim() } : {}),
                ...(Object.keys(unitMap).length ? { units: unitMap } : {}),
              })
              .then((created) => {
                done()
                showKey(created.attributes, created.meta.device_key)
              })
              .catch((e2: unknown) => {
                err.textContent = errorMessage(e2)
                err.hidden = false
                submit.disabled = false
              })
          },
        },
      },
      err,
      h('label', { class: 'field' }, h('span', null, 'Name'), name),
      h('label', { class: 'field' }, h('span', null, 'Type ', h('em', { class: 'muted' }, 'optional')), type),
      h('label', { class: 'field' }, h('span', null, 'Metric units ', h('em', { class: 'muted' }, 'optional, metric=unit, comma-separated')), units),
      h('div', { class: 'modal-actions' }, button('Cancel', { onClick: close }), submit),
    )

    const showKey = (d: Device, key: string) => {
      const curl = `curl -X POST ${location.origin}/api/devices/${d.id}/telemetry \\\n  -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\\n  -d '{"telemetry":{"temperature":{"value":23.5}}}'`
      replace(
        form,
        h('div', { class: 'notice notice-success' }, icon('check', 16), h('span', null, `Device “${d.name}” created (#${d.id}).`)),
        h('p', null, 'This is the device key. It is shown only once: store it on the device now.'),
        h(
          'div',
          { class: 'secret' },
          h('code', { 'data-testid': 'device-key' }, key),
          h('button', { class: 'icon-btn', type: 'button', title: 'Copy', on: { click: () => void navigator.clipboard?.writeText(key).then(() => toast('Key copied', 'success')) } }, icon('copy', 16)),
        ),
        h('p', { class: 'muted small' }, 'Send a reading:'),
        h('pre', { class: 'code' }, curl),
        h('div', { class: 'modal-actions' }, button('Close', { onClick: close }), button('Open device', { kind: 'primary', onClick: () => (close(), ctx.go(`#/devices/${d.id}`)) })),
      )
    }
    return form
  })
}
