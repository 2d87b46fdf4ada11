/**
 * Servers: every server the user can see, with its live state, CPU and memory; administrators
 * also create servers here. The Client API has no list-wide stream, so the page polls each
 * server's `/resources` every few seconds while it is open (the console view streams over the
 * console socket instead). A list that cannot be loaded is retried until it can.
 */
import { errorMessage, list, api, type Item, type Resources, type Server } from '../lib/api.js'
import { badge, button, emptyState, h, icon, replace, spinner, tableWrap, toast } from '../lib/dom.js'
import { bytes, duration, percent } from '../lib/format.js'
import { retryLoad } from '../ui/retry.js'
import { serverDialog } from '../ui/server-admin.js'
import type { View, ViewContext } from './view.js'

const POLL_MS = 4000

export function serversView(ctx: ViewContext): View {
  ctx.setTitle('Servers')
  const body = h('div', { class: 'card-body flush' }, spinner('Loading servers…'))
  const count = h('span', { class: 'muted small' })
  const create = ctx.session.user.admin
    ? button('New server', { kind: 'primary', icon: 'plus', testid: 'new-server', onClick: () => void serverDialog(null, (s) => ctx.go(`#/servers/${encodeURIComponent(s.identifier)}`)).catch((e: unknown) => toast(errorMessage(e), 'error')) })
    : null
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('div', null, h('h2', null, 'Game servers'), count), create), body))

  let timer = 0
  let disposed = false
  const rows = new Map<string, { state: HTMLElement; cpu: HTMLElement; mem: HTMLElement; uptime: HTMLElement }>()

  async function load(): Promise<void> {
    // Administrators see every server (Pterodactyl's ?type=admin); others their own.
    const servers = await list<Server>(ctx.session.user.admin ? '/api/client?type=admin' : '/api/client')
    if (disposed) return
    count.textContent = `${servers.length} server${servers.length === 1 ? '' : 's'}`
    if (!servers.length) {
      replace(body, emptyState('server', 'No servers yet', ctx.session.user.admin ? 'Create a server: wirehub runs its program and gives it a live console here.' : 'An administrator has not given you a server yet. Servers you may use appear here with a live console.'))
      return
    }
    const table = h(
      'table',
      { class: 'table', 'data-testid': 'servers-table' },
      h('thead', null, h('tr', null, h('th', null, 'Server'), h('th', null, 'State'), h('th', null, 'CPU'), h('th', null, 'Memory'), h('th', null, 'Uptime'), h('th', { class: 'right' }, h('span', { class: 'sr-only' }, 'Open')))),
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
    replace(body, tableWrap(table))
    clearTimeout(timer)
    void poll()
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

  const loader = retryLoad({ what: 'Servers', icon: 'server', load, show: (e) => replace(body, e), terminal: (err) => replace(body, emptyState('server', 'Servers are unavailable', errorMessage(err))) })
  return {
    el,
    dispose() {
      disposed = true
      loader.stop()
      clearTimeout(timer)
    },
  }
}

