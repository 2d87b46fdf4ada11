/**
 * Servers: every server the user can see, with its live state, CPU and memory. The Client API
 * has no list-wide stream, so the page polls each server's `/resources` every few seconds while
 * it is open (the console view streams over the console socket instead).
 */
import { errorMessage, isStatus, list, api, type Item, type Resources, type Server } from '../lib/api.js'
import { badge, emptyState, h, icon, replace, spinner, toast } from '../lib/dom.js'
import { bytes, duration, percent } from '../lib/format.js'
import type { View, ViewContext } from './view.js'

const POLL_MS = 4000

export function serversView(ctx: ViewContext): View {
  ctx.setTitle('Servers')
  const body = h('div', { class: 'card-body flush' }, spinner('Loading servers…'))
  const count = h('span', { class: 'muted small' })
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Game servers'), count), body))

  let timer = 0
  let disposed = false
  const rows = new Map<string, { state: HTMLElement; cpu: HTMLElement; mem: HTMLElement; uptime: HTMLElement }>()

  async function load(): Promise<void> {
    let servers: Server[]
    try {
      // Administrators see every server (Pterodactyl's ?type=admin); others their own.
      servers = await list<Server>(ctx.session.user.admin ? '/api/client?type=admin' : '/api/client')
    } catch (err) {
      if (disposed) return
      replace(body, emptyState('server', 'Servers are unavailable', isStatus(err, 404) ? 'This wirehub does not serve game servers yet.' : errorMessage(err)))
      if (!isStatus(err, 404)) toast(errorMessage(err), 'error', 'Could not load servers')
      return
    }
    if (disposed) return
    count.textContent = `${servers.length} server${servers.length === 1 ? '' : 's'}`
    if (!servers.length) {
      replace(body, emptyState('server', 'No servers yet', 'Administrators define servers through the Application API (/api/application/servers). They appear here with a live console.'))
      return
    }
    const table = h(
      'table',
      { class: 'table', 'data-testid': 'servers-table' },
      h('thead', null, h('tr', null, h('th', null, 'Server'), h('th', null, 'State'), h('th', null, 'CPU'), h('th', null, 'Memory'), h('th', null, 'Uptime'), h('th', { class: 'right' }, ''))),
      h(
        'tbody',
        null,
        servers.map((s) => {
          const r = { state: badge(s.is_suspended ? 'suspended' : '…', 'gray', true), cpu: h('td', null, '—'), mem: h('td', null, '—'), uptime: h('td', null, '—') }
          rows.set(s.identifier, r)
          const href = `#/servers/${encodeURIComponent(s.identifier)}`
          return h(
            'tr',
            { class: 'row-link', dataset: { server: s.identifier }, on: { click: (e) => (e.target as HTMLElement).closest('a') || ctx.go(href) } },
            h('td', null, h('div', { class: 'cell-title' }, h('a', { href }, s.name), h('span', { class: 'mono muted small' }, s.identifier)), s.description ? h('div', { class: 'muted small' }, s.description) : null),
            h('td', null, r.state),
            r.cpu,
            r.mem,
            r.uptime,
            h('td', { class: 'right' }, h('a', { class: 'btn btn-secondary btn-sm', href }, icon('server', 14), 'Console')),
          )
        }),
      ),
    )
    replace(body, table)
    await poll()
  }

  async function poll(): Promise<void> {
    await Promise.all(
      [...rows.entries()].map(async ([id, r]) => {
        try {
          const res = (await api.get<Item<Resources>>(`/api/client/servers/${encodeURIComponent(id)}/resources`)).attributes
          if (disposed) return
          const state = res.is_suspended ? 'suspended' : res.current_state
          const b = badge(state, undefined, true)
          r.state.replaceWith(b)
          r.state = b
          const live = res.current_state !== 'offline'
          r.cpu.textContent = live ? percent(res.resources.cpu_absolute) : '—'
          r.mem.textContent = live ? bytes(res.resources.memory_bytes) : '—'
          r.uptime.textContent = live ? duration(res.resources.uptime) : '—'
        } catch {
          // keep the last known values; the console view reports errors in detail
        }
      }),
    )
    if (!disposed) timer = window.setTimeout(() => void poll(), POLL_MS)
  }

  void load()
  return {
    el,
    dispose() {
      disposed = true
      clearTimeout(timer)
    },
  }
}

