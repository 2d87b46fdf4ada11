/**
 * One server's console: an xterm terminal fed by the console socket (SDK ConsoleSocket), a
 * command input with history (↑/↓), power buttons that follow the user's permissions and the
 * server's state, and live CPU / memory charts from the `stats` events.
 */
import type { ConsoleSocket } from '../../../packages/client/src/console.js'
import type { ConsoleStats, PowerAction, ServerState } from '../../../packages/client/src/types.js'
import { api, errorMessage, isStatus, power, type Item, type Server } from '../lib/api.js'
import { badge, detailHeader, emptyState, h, icon, replace, spinner, toast } from '../lib/dom.js'
import { bytes, duration, percent } from '../lib/format.js'
import { LiveChart } from '../ui/chart.js'
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

export function consoleView(ctx: ViewContext, [id = '']: string[]): View {
  ctx.setTitle('Console', [{ label: 'Servers', href: '#/servers' }])
  const el = h('section', { class: 'stack' }, h('div', { class: 'card' }, h('div', { class: 'card-body' }, spinner('Loading server…'))))
  let socket: ConsoleSocket | null = null
  let term: ConsoleTerminal | null = null
  const charts: LiveChart[] = []
  let disposed = false

  void (async () => {
    let server: Server
    let perms: string[]
    try {
      const body = await api.get<Item<Server>>(`/api/client/servers/${encodeURIComponent(id)}`)
      server = body.attributes
      const meta = (body.meta ?? {}) as { user_permissions?: string[]; is_server_owner?: boolean }
      perms = meta.user_permissions ?? (meta.is_server_owner ? ['*'] : [])
    } catch (err) {
      if (disposed) return
      replace(el, h('div', { class: 'card' }, emptyState('server', isStatus(err, 404) ? 'Server not found' : 'Server unavailable', isStatus(err, 404) ? 'It does not exist or you have no access to it.' : errorMessage(err), h('a', { class: 'btn btn-secondary', href: '#/servers' }, 'Back to servers'))))
      return
    }
    if (disposed) return
    ctx.setTitle(server.name, [{ label: 'Servers', href: '#/servers' }])
    render(server, perms)
  })()

  function render(server: Server, perms: string[]): void {
    let state: ServerState = 'offline'
    let stateBadge = badge('connecting', 'gray', true)
    const conn = h('span', { class: 'conn muted small' }, 'Connecting…')

    /* power buttons */
    const buttons = new Map<PowerAction, HTMLButtonElement>()
    const powerBar = h(
      'div',
      { class: 'btn-row' },
      POWER.map((p) => {
        const allowed = can(perms, p.perm)
        const b = h(
          'button',
          {
            class: `btn btn-${p.kind}`,
            type: 'button',
            'data-action': p.action,
            title: allowed ? `${p.label} the server` : `You do not have the ${p.perm} permission`,
            on: { click: () => void doPower(p.action) },
          },
          icon(p.icon, 15),
          p.label,
        )
        buttons.set(p.action, b)
        return b
      }),
    )
    const refreshButtons = () => {
      const ready = socket?.state === 'ready'
      for (const p of POWER) {
        const b = buttons.get(p.action)!
        const allowedByState =
          p.action === 'start' ? state === 'offline' : p.action === 'stop' ? state === 'running' || state === 'starting' : p.action === 'kill' ? state !== 'offline' : true
        b.disabled = !can(perms, p.perm) || !allowedByState || !ready
      }
      const canType = can(perms, 'control.console')
      input.disabled = !canType || !ready || state === 'offline'
      input.placeholder = !canType ? 'You do not have permission to send commands' : state === 'offline' ? 'The server is offline — start it to send commands' : 'Type a command…'
      send.disabled = input.disabled
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

    /* terminal + command input with history */
    const termEl = h('div', { class: 'terminal', id: 'terminal', 'data-testid': 'terminal' })
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
      h('span', { class: 'prompt mono' }, '>'),
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

    const header = detailHeader(server.name, stateBadge, [h('span', { class: 'mono' }, server.identifier), ' · ', conn, server.description ? ` · ${server.description}` : ''], powerBar)
    const grid = h(
      'div',
      { class: 'console-grid' },
      h('div', { class: 'card console-card' }, termEl, form),
      h(
        'div',
        { class: 'stack' },
        h('div', { class: 'tiles tiles-2' }, tCpu.el, tMem.el, tNet.el, tUp.el),
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', null, 'CPU')), h('div', { class: 'card-body' }, cpuEl)),
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', null, 'Memory')), h('div', { class: 'card-body' }, memEl)),
      ),
    )
    replace(el, header, grid)

    term = new ConsoleTerminal(termEl)
    const limit = server.limits?.memory ? server.limits.memory * 1024 * 1024 : 0
    charts.push(new LiveChart(cpuEl, { series: [{ label: 'CPU', color: '#4f46e5', fmt: (v) => `${v.toFixed(1)} %` }], height: 150, maxPoints: 180 }))
    charts.push(new LiveChart(memEl, { series: [{ label: 'Memory', color: '#0ea5e9', fmt: (v) => bytes(v) }], height: 150, maxPoints: 180 }))

    const setState = (s: ServerState) => {
      state = s
      const b = badge(s, undefined, true)
      b.dataset.testid = 'server-state'
      stateBadge.replaceWith(b)
      stateBadge = b
      refreshButtons()
    }

    const onStats = (st: ConsoleStats) => {
      const live = st.state !== 'offline'
      tCpu.value.textContent = live ? percent(st.cpu_absolute) : '—'
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
        charts[0]?.push(now, [st.cpu_absolute])
        charts[1]?.push(now, [st.memory_bytes])
      }
    }

    /* the socket */
    const s = ctx.session.openConsole(server.uuid || server.identifier)
    socket = s
    s.onConsole((line) => term?.line(line))
    s.onStatus((st) => {
      if (st !== state) term?.notice(`Server marked as ${st}...`)
      setState(st)
    })
    s.onStats(onStats)
    s.on('daemonError', (m) => {
      term?.notice(m, 'red')
      toast(m, 'error', 'Server error')
    })
    s.on('daemonMessage', (m) => term?.notice(m, 'cyan'))
    s.on('throttled', (what) => toast(`Slow down: "${what}" was throttled by the server.`, 'warning'))
    s.on('open', ({ reconnected }) => {
      if (reconnected) {
        term?.clear()
        term?.notice('Reconnected to the console.', 'green')
      }
      s.requestLogs()
      s.requestStats()
    })
    s.on('state', (st) => {
      conn.textContent = st === 'ready' ? 'console connected' : st === 'closed' ? 'console disconnected' : st === 'reconnecting' ? 'reconnecting…' : 'connecting…'
      conn.className = `conn small ${st === 'ready' ? 'ok' : st === 'closed' ? 'down' : 'muted'}`
      refreshButtons()
    })
    s.on('close', (ev) => {
      if (ev.willReconnect || disposed) return
      const why = ev.meaning ?? (ev.reason || 'the connection was refused')
      term?.notice(`Console closed: ${why}`, 'red')
      toast(why, 'error', 'Console disconnected')
    })
    s.on('error', (err) => {
      if (s.state === 'closed' || disposed) return
      if (isStatus(err, 401)) toast('Your session has ended.', 'error')
    })
    refreshButtons()
  }

  return {
    el,
    dispose() {
      disposed = true
      socket?.close()
      term?.destroy()
      for (const c of charts) c.destroy()
    },
  }
}
