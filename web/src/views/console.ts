/**
 * One server's console: an xterm terminal fed by the console socket (SDK ConsoleSocket) with
 * search, optional timestamps and a log download; a command input with history (↑/↓); power
 * buttons that follow the user's permissions and the server's state; live CPU / memory charts
 * on one time range; subusers; and, for administrators, edit / suspend / delete.
 *
 * The socket's end is never a dead page: a suspended server says so and is looked at again
 * until it is lifted, a deleted one says so (both close with 1001, the reason says which), a
 * changed permission (the server asks for a token refresh) re-reads the user's permissions and
 * shows the new buttons, and any other loss retries by itself.
 */
import type { ConsoleSocket } from '../../../packages/client/src/console.js'
import type { ConsoleStats, PowerAction, ServerState } from '../../../packages/client/src/types.js'
import { api, errorMessage, isStatus, power, type Item, type Server } from '../lib/api.js'
import { badge, button, detailHeader, emptyState, h, icon, replace, spinner, toast } from '../lib/dom.js'
import { bytes, duration, percent } from '../lib/format.js'
import { LiveChart, TimeRange } from '../ui/chart.js'
import { rangeBar } from '../ui/range-bar.js'
import { retryLoad, type RetryLoad } from '../ui/retry.js'
import { deleteServer, loadAppServer, serverDialog, setSuspended } from '../ui/server-admin.js'
import { subusersCard } from '../ui/subusers.js'
import { ConsoleTerminal } from '../ui/terminal.js'
import type { View, ViewContext } from './view.js'

/** Wings' HasPermission: `*` grants everything but `admin.*`. */
function can(perms: string[], p: string): boolean {
  return perms.includes(p) || (perms.includes('*') && !p.startsWith('admin'))
}

const POWER: Array<{ action: PowerAction; label: string; icon: string; kind: string; perm: string }> = [
  { action: 'start', label: 'Start', icon: 'play', kind: 'success', perm: 'control.start' },
  { action: 'restart', label: 'Restart', icon: 'restart', kind: 'secondary', perm: 'control.restart' },
  { action: 'stop', label: 'Stop', icon: 'stop', kind: 'danger', perm: 'control.stop' },
  { action: 'kill', label: 'Kill', icon: 'kill', kind: 'danger-outline', perm: 'control.stop' },
]

const HISTORY_MAX = 50
const SUSPENDED_RECHECK_MS = 10_000

interface Loaded {
  server: Server
  perms: string[]
}

async function loadServer(id: string): Promise<Loaded> {
  const body = await api.get<Item<Server>>(`/api/client/servers/${encodeURIComponent(id)}`)
  const meta = (body.meta ?? {}) as { user_permissions?: string[]; is_server_owner?: boolean }
  return { server: body.attributes, perms: meta.user_permissions ?? (meta.is_server_owner ? ['*'] : []) }
}

export function consoleView(ctx: ViewContext, [id = '']: string[]): View {
  ctx.setTitle('Console', [{ label: 'Servers', href: '#/servers' }])
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, spinner('Loading server…'))))
  let page: ReturnType<typeof render> | null = null
  let disposed = false

  const loader: RetryLoad = retryLoad({
    what: 'Server',
    icon: 'server',
    load: async () => {
      const loaded = await loadServer(id)
      if (disposed) return
      ctx.setTitle(loaded.server.name, [{ label: 'Servers', href: '#/servers' }])
      if (page) page.update(loaded)
      else page = render(loaded)
    },
    show: (e) => {
      page?.dispose()
      page = null
      replace(el, e)
    },
    terminal: (err) => {
      page?.dispose()
      page = null
      replace(el, h('div', { class: 'card' }, emptyState('server', isStatus(err, 404) ? 'Server not found' : 'No access to this server', isStatus(err, 404) ? 'It does not exist (any more) or you have no access to it.' : errorMessage(err), h('a', { class: 'btn btn-secondary', href: '#/servers' }, 'Back to servers'))))
    },
  })

  function render(initial: Loaded) {
    let { server, perms } = initial
    let state: ServerState | 'unknown' = 'unknown'
    let ended: 'suspended' | 'deleted' | null = server.is_suspended ? 'suspended' : null
    let socket: ConsoleSocket | null = null
    let recheck = 0
    const offs: Array<() => void> = []
    let stateBadge = badge('connecting', 'gray', true)
    const conn = h('span', { class: 'conn muted small', role: 'status' }, 'Connecting…')
    const banner = h('div', { class: 'console-state', role: 'status', hidden: true, 'data-testid': 'console-state' })

    /* power buttons */
    const buttons = new Map<PowerAction, HTMLButtonElement>()
    const powerBar = h(
      'div',
      { class: 'btn-row' },
      POWER.map((p) => {
        const b = button(p.label, { kind: p.kind, icon: p.icon, onClick: () => void doPower(p.action) })
        b.dataset.action = p.action
        buttons.set(p.action, b)
        return b
      }),
    )
    const admin = ctx.session.user.admin ? adminBar() : null

    function adminBar() {
      const edit = button('Edit', { icon: 'edit', testid: 'server-edit', onClick: () => void loadAppServer(server.identifier).then((s) => serverDialog(s, () => loader.now()), (e: unknown) => toast(errorMessage(e), 'error')) })
      const suspend = button('Suspend', {
        icon: 'pause',
        testid: 'server-suspend',
        onClick: () => void setSuspended(server, !ended).then(() => (ended ? reopen() : undefined), (e: unknown) => toast(errorMessage(e), 'error')),
      })
      const del = button('Delete', { icon: 'trash', kind: 'danger-outline', testid: 'server-delete', onClick: () => deleteServer(server, () => ctx.go('#/servers')) })
      return { el: h('div', { class: 'btn-row' }, edit, suspend, del), suspend }
    }

    const refresh = () => {
      const ready = socket?.state === 'ready' && !ended
      for (const p of POWER) {
        const b = buttons.get(p.action)!
        const allowedByState =
          p.action === 'start' ? state === 'offline' : p.action === 'stop' ? state === 'running' || state === 'starting' : p.action === 'kill' ? state !== 'offline' : true
        const allowed = can(perms, p.perm)
        b.disabled = !allowed || !allowedByState || !ready
        b.title = allowed ? `${p.label} the server` : `You do not have the ${p.perm} permission`
        b.dataset.allowed = String(allowed)
      }
      const canType = can(perms, 'control.console')
      input.disabled = !canType || !ready || state === 'offline'
      input.placeholder = !canType ? 'You do not have permission to send commands' : state === 'offline' ? 'The server is offline — start it to send commands' : 'Type a command…'
      send.disabled = input.disabled
      if (admin) admin.suspend.lastChild!.textContent = ended === 'suspended' ? 'Unsuspend' : 'Suspend'
      admin?.suspend.toggleAttribute('disabled', ended === 'deleted')
      // The banner names the one thing that explains why the console is quiet.
      const say = (kind: string, text: string) => {
        banner.hidden = false
        banner.className = `console-state ${kind}`
        banner.dataset.kind = ended ?? (state === 'offline' ? 'offline' : socket?.state === 'ready' ? 'live' : 'reconnecting')
        banner.textContent = text
      }
      if (ended === 'deleted') say('bad', 'This server was deleted. Its console is closed.')
      else if (ended === 'suspended') say('warn', 'This server is suspended: it cannot run until an administrator lifts the suspension. This page reconnects by itself when that happens.')
      else if (socket && socket.state !== 'ready') say('info', 'Reconnecting to the console…')
      else if (state === 'offline') say('info', `The server is offline.${can(perms, 'control.start') ? ' Start it to see its output here.' : ''}`)
      else banner.hidden = true
    }

    async function doPower(action: PowerAction): Promise<void> {
      // Through the socket as Pterodactyl's panel does; REST when the socket is not ready.
      if (socket?.setState(action)) return
      try {
        await power(server.identifier, action)
      } catch (err) {
        toast(errorMessage(err), 'error', `Could not ${action} the server`)
      }
    }

    /* terminal tools, terminal, command input with history */
    const termEl = h('div', { class: 'terminal', id: 'terminal', 'data-testid': 'terminal' })
    const search = h('input', { type: 'search', placeholder: 'Search the output', 'aria-label': 'Search the console output', 'data-testid': 'console-search' })
    const matches = h('span', { class: 'count', 'aria-live': 'polite', 'data-testid': 'search-count' })
    const stamps = h('input', { type: 'checkbox', 'data-testid': 'console-timestamps' })
    const tools = h(
      'div',
      { class: 'console-tools' },
      icon('search', 15),
      search,
      matches,
      h('button', { class: 'btn btn-ghost btn-sm', type: 'button', 'aria-label': 'Previous match', on: { click: () => term.find(search.value, true) } }, '↑'),
      h('button', { class: 'btn btn-ghost btn-sm', type: 'button', 'aria-label': 'Next match', on: { click: () => term.find(search.value) } }, '↓'),
      h('label', { class: 'check' }, stamps, h('span', null, 'Timestamps')),
      button('Download log', { kind: 'ghost', icon: 'download', testid: 'console-download', onClick: () => void download() }),
    )
    const input = h('input', { class: 'cmd-input', 'data-testid': 'command-input', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Console command' })
    const send = h('button', { class: 'btn btn-primary', type: 'submit', 'aria-label': 'Send command' }, icon('send', 15), 'Send')
    const history: string[] = []
    let cursor = -1
    let draft = ''
    const form = h(
      'form',
      {
        class: 'cmd-bar',
        on: {
          submit: (e) => {
            e.preventDefault()
            const cmd = input.value.trim()
            if (!cmd) return
            if (!socket?.sendCommand(cmd)) {
              toast('The console is not connected.', 'error')
              return
            }
            if (history[0] !== cmd) history.unshift(cmd)
            if (history.length > HISTORY_MAX) history.pop()
            cursor = -1
            draft = ''
            input.value = ''
          },
        },
      },
      h('span', { class: 'prompt mono', 'aria-hidden': 'true' }, '>'),
      input,
      send,
    )
    input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp') {
        if (cursor + 1 >= history.length) return
        if (cursor === -1) draft = input.value
        cursor++
        input.value = history[cursor] ?? ''
      } else if (e.key === 'ArrowDown') {
        if (cursor < 0) return
        cursor--
        input.value = cursor === -1 ? draft : (history[cursor] ?? '')
      } else return
      e.preventDefault()
      const end = input.value.length
      requestAnimationFrame(() => input.setSelectionRange(end, end))
    })

    /* stats tiles + charts */
    const tile = (label: string, testid: string) => {
      const value = h('div', { class: 'tile-value', 'data-testid': testid }, '—')
      const sub = h('div', { class: 'tile-sub muted small' }, '')
      return { el: h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, label), value, sub), value, sub }
    }
    const tCpu = tile('CPU', 'stat-cpu')
    const tMem = tile('Memory', 'stat-memory')
    const tNet = tile('Network', 'stat-network')
    const tUp = tile('Uptime', 'stat-uptime')
    const cpuEl = h('div', { class: 'chart', 'data-testid': 'cpu-chart' })
    const memEl = h('div', { class: 'chart', 'data-testid': 'memory-chart' })
    const range = new TimeRange('5m')
    const bar = rangeBar(range)
    offs.push(bar.dispose)

    const header = detailHeader(server.name, stateBadge, [h('span', { class: 'mono' }, server.identifier), ' · ', conn, server.description ? ` · ${server.description}` : ''], h('div', { class: 'btn-row' }, powerBar, admin?.el ?? null))
    const subusers = can(perms, 'user.read') ? subusersCard(server.identifier, (p) => can(perms, p)) : null
    if (subusers) offs.push(subusers.dispose)
    const grid = h(
      'div',
      { class: 'console-grid' },
      h('div', { class: 'card console-card' }, tools, banner, termEl, form),
      h(
        'div',
        { class: 'stack' },
        h('div', { class: 'tiles tiles-2' }, tCpu.el, tMem.el, tNet.el, tUp.el),
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', null, 'CPU and memory'), bar.el), h('div', { class: 'card-body' }, cpuEl, memEl)),
      ),
    )
    replace(el, header, grid, subusers?.el ?? null)

    const term = new ConsoleTerminal(termEl)
    term.onResults((i, n) => (matches.textContent = n ? `${i + 1} / ${n}` : search.value ? 'none' : ''))
    search.addEventListener('input', () => {
      if (!search.value) {
        term.clearSearch()
        matches.textContent = ''
      } else term.find(search.value)
    })
    search.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return
      e.preventDefault()
      term.find(search.value, e.shiftKey)
    })
    stamps.addEventListener('change', () => term.setTimestamps(stamps.checked))
    const limit = server.limits?.memory ? server.limits.memory * 1024 * 1024 : 0
    const charts = [
      new LiveChart(cpuEl, { series: [{ label: 'CPU', color: '#4f46e5', fmt: (v) => `${v.toFixed(1)} %` }], range, height: 140, nonNegative: true, gapMs: 10_000 }),
      new LiveChart(memEl, { series: [{ label: 'Memory', color: '#0284c7', fmt: (v) => bytes(v) }], range, height: 140, nonNegative: true, gapMs: 10_000 }),
    ]

    async function download(): Promise<void> {
      // The server's full log when it offers one; otherwise the lines this page has seen.
      let blob: Blob
      let note = ''
      try {
        const res = await fetch(`/api/client/servers/${encodeURIComponent(server.identifier)}/logs?download=1`, { headers: { accept: 'text/plain' } })
        if (!res.ok) throw new Error(String(res.status))
        blob = await res.blob()
      } catch {
        blob = new Blob([term.plainLog()], { type: 'text/plain' })
        note = 'The server offers no full log: saved the lines shown here.'
      }
      const a = h('a', { href: URL.createObjectURL(blob), download: `${server.identifier}-console.log` })
      document.body.appendChild(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
      if (note) toast(note, 'info')
    }

    const setState = (s: ServerState | 'unknown') => {
      state = s
      const shown = ended ?? (socket?.state === 'ready' ? s : 'unknown')
      const b = badge(shown, shown === 'unknown' ? 'gray' : undefined, true)
      b.dataset.testid = 'server-state'
      stateBadge.replaceWith(b)
      stateBadge = b
      refresh()
    }

    const onStats = (st: ConsoleStats) => {
      const live = st.state !== 'offline'
      tCpu.value.textContent = live ? percent(Math.max(0, st.cpu_absolute)) : '—'
      tCpu.sub.textContent = live ? 'of one core' : 'offline'
      tMem.value.textContent = live ? bytes(st.memory_bytes) : '—'
      const lim = st.memory_limit_bytes || limit
      tMem.sub.textContent = lim ? `of ${bytes(lim)}` : 'no limit'
      tNet.value.textContent = `↓ ${bytes(st.network?.rx_bytes)}`
      tNet.sub.textContent = `↑ ${bytes(st.network?.tx_bytes)}`
      tUp.value.textContent = live ? duration(st.uptime) : '—'
      tUp.sub.textContent = `disk ${bytes(st.disk_bytes)}`
      if (live) {
        const now = Date.now()
        charts[0]?.push(now, [Math.max(0, st.cpu_absolute)])
        charts[1]?.push(now, [st.memory_bytes])
      }
    }

    /** Closes the current socket without taking its end for a lost connection. */
    function closeSocket(): void {
      const old = socket
      socket = null
      old?.close()
    }

    /** Opens a console socket; a reopen starts the terminal afresh (the server replays its log). */
    function open(notice?: string): void {
      clearTimeout(recheck)
      const reopening = socket !== null || notice !== undefined
      closeSocket()
      const s = ctx.session.openConsole(server.uuid || server.identifier)
      socket = s
      let first = true
      s.onConsole((line) => term.line(line))
      s.onStatus((st) => {
        if (st !== state && state !== 'unknown') term.notice(`Server marked as ${st}...`)
        setState(st)
      })
      s.onStats(onStats)
      s.on('daemonError', (m) => {
        term.notice(m, 'red')
        toast(m, 'error', 'Server error')
      })
      s.on('daemonMessage', (m) => term.notice(m, 'cyan'))
      s.on('throttled', (what) => toast(`Slow down: "${what}" was throttled by the server.`, 'warning'))
      s.on('open', ({ reconnected }) => {
        if (reconnected || (first && reopening)) {
          term.clear()
          term.notice(notice && first ? notice : 'Reconnected to the console.', 'green')
        }
        first = false
        s.requestLogs()
        s.requestStats()
      })
      s.on('state', (st) => {
        if (socket !== s) return
        conn.textContent = st === 'ready' ? 'console connected' : st === 'closed' ? 'console closed' : st === 'reconnecting' ? 'reconnecting…' : 'connecting…'
        conn.className = `conn small ${st === 'ready' ? 'ok' : st === 'closed' ? 'down' : 'muted'}`
        setState(state)
      })
      s.on('close', (ev) => {
        if (disposed || socket !== s) return
        // Deleted and suspended close with 1001 (or the older 4404/4409) and a reason saying
        // which: the console ends here instead of reconnecting to a server that is not there.
        const why = ev.code === 4404 || ev.reason === 'server deleted' ? 'deleted' : ev.code === 4409 || ev.reason === 'server suspended' ? 'suspended' : null
        if (why) {
          closeSocket()
          ended = why
          term.notice(why === 'deleted' ? 'This server was deleted.' : 'This server was suspended.', 'red')
          setState(state)
          if (why === 'suspended') watchSuspension()
          return
        }
        if (ev.willReconnect) return
        // 4010 (a permission changed) or a refused credential: read the permissions again and
        // reconnect with the buttons they allow; the loader shows "no access" if none is left.
        term.notice(ev.code === 4010 ? 'Your access changed; reconnecting with your new permissions…' : `Console closed: ${ev.meaning ?? (ev.reason || 'the connection was refused')}; reconnecting…`, 'yellow')
        pendingNotice = ev.code === 4010 ? 'Reconnected with your new permissions.' : 'Reconnected to the console.'
        setState(state)
        recheck = window.setTimeout(() => loader.now(), ev.code === 4010 ? 0 : 2000)
      })
      // A permission change arrives as a token refresh on the open socket: read them again.
      s.on('refresh', () => {
        if (socket === s && !disposed) loader.now()
      })
      s.on('error', (err) => {
        if (s.state === 'closed' || disposed) return
        if (isStatus(err, 401)) toast('Your session has ended.', 'error')
      })
      refresh()
    }

    function watchSuspension(): void {
      clearTimeout(recheck)
      recheck = window.setTimeout(() => loader.now(), SUSPENDED_RECHECK_MS)
    }

    let pendingNotice: string | undefined
    function reopen(): void {
      ended = null
      open(pendingNotice ?? 'Reconnected to the console.')
      pendingNotice = undefined
    }

    if (ended === 'suspended') {
      setState('unknown')
      watchSuspension()
    } else open()

    return {
      /** Fresh server data and permissions (after a 4010, a suspension check, an edit). */
      update(next: Loaded) {
        const permsChanged = next.perms.join() !== perms.join()
        server = next.server
        perms = next.perms
        if (next.server.is_suspended) {
          ended = 'suspended'
          closeSocket()
          setState(state)
          watchSuspension()
          return
        }
        if (ended === 'suspended' || permsChanged || socket?.state === 'closed') reopen()
        else refresh()
      },
      dispose() {
        clearTimeout(recheck)
        closeSocket()
        term.destroy()
        for (const c of charts) c.destroy()
        for (const off of offs) off()
      },
    }
  }

  return {
    el,
    dispose() {
      disposed = true
      loader.stop()
      page?.dispose()
    },
  }
}
