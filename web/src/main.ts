/**
 * The wirehub dashboard: login, then a shell (sidebar, header with the user) around hash-routed
 * pages — servers and their consoles, devices with live charts and alert rules, the alert feed,
 * the system status stream, users (administrators) and the own account. Built on the
 * TypeScript SDK in packages/client.
 */
import '@xterm/xterm/css/xterm.css'
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { errorMessage, isStatus, onSessionEnded } from './lib/api.js'
import { badge, h, icon, replace, toast } from './lib/dom.js'
import { Session, currentUser, login, logout } from './lib/session.js'
import type { View, ViewContext, ViewFactory } from './views/view.js'
import { serversView } from './views/servers.js'
import { consoleView } from './views/console.js'
import { devicesView } from './views/devices.js'
import { deviceView } from './views/device.js'
import { alertsView } from './views/alerts.js'
import { systemView } from './views/system.js'
import { usersView } from './views/users.js'
import { accountView } from './views/account.js'
import type { User } from './lib/api.js'

const root = document.getElementById('app') as HTMLElement

interface Route {
  pattern: RegExp
  view: ViewFactory
  nav: string
}

const ROUTES: Route[] = [
  { pattern: /^\/servers\/?$/, view: serversView, nav: 'servers' },
  { pattern: /^\/servers\/([^/]+)$/, view: consoleView, nav: 'servers' },
  { pattern: /^\/devices\/?$/, view: devicesView, nav: 'devices' },
  { pattern: /^\/devices\/(\d+)$/, view: deviceView, nav: 'devices' },
  { pattern: /^\/alerts\/?$/, view: alertsView, nav: 'alerts' },
  { pattern: /^\/system\/?$/, view: systemView, nav: 'system' },
  { pattern: /^\/users\/?$/, view: usersView, nav: 'users' },
  { pattern: /^\/account\/?$/, view: accountView, nav: 'account' },
]

const NAV = [
  { id: 'servers', label: 'Servers', icon: 'server', href: '#/servers' },
  { id: 'devices', label: 'Devices', icon: 'device', href: '#/devices' },
  { id: 'alerts', label: 'Alerts', icon: 'alert', href: '#/alerts' },
  { id: 'system', label: 'System', icon: 'system', href: '#/system' },
  { id: 'users', label: 'Users', icon: 'users', href: '#/users', admin: true },
  { id: 'account', label: 'Account', icon: 'user', href: '#/account' },
]

/* -------------------------------------------------------------------- login */

function showLogin(message?: string): void {
  const error = h('div', { class: 'form-error', role: 'alert', hidden: !message }, message ?? '')
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, placeholder: 'you@example.com' })
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, placeholder: '••••••••' })
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Sign in')
  const form = h(
    'form',
    {
      class: 'login-card',
      on: {
        submit: (ev) => {
          ev.preventDefault()
          submit.disabled = true
          submit.textContent = 'Signing in…'
          error.hidden = true
          login(email.value.trim(), password.value)
            .then((user) => startShell(user))
            .catch((err: unknown) => {
              error.textContent = isStatus(err, 401, 403, 422) ? 'Wrong email or password.' : errorMessage(err)
              error.hidden = false
              submit.disabled = false
              submit.textContent = 'Sign in'
              password.select()
            })
        },
      },
    },
    h('div', { class: 'brand brand-lg' }, logo(), h('span', null, 'wirehub')),
    h('p', { class: 'muted center' }, 'Sign in to manage your servers and devices'),
    error,
    h('label', { class: 'field' }, h('span', null, 'Email'), email),
    h('label', { class: 'field' }, h('span', null, 'Password'), password),
    submit,
  )
  replace(root, h('div', { class: 'login-page' }, form, h('p', { class: 'login-foot' }, 'Real-time gateway · consoles · devices · alerts')))
  document.title = 'Sign in · wirehub'
  email.focus()
}

function logo(): HTMLElement {
  const el = h('span', { class: 'logo', 'aria-hidden': 'true' })
  el.innerHTML =
    '<svg viewBox="0 0 32 32" width="30" height="30"><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M7 10l4 12 5-9 5 9 4-12" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>'
  return el
}

/* -------------------------------------------------------------------- shell */

let current: View | null = null
let session: Session | null = null
/** Tears the shell down (view, sockets, router); set while signed in. */
let stopShell: (() => void) | null = null

function startShell(user: User): void {
  stopShell?.()
  session = new Session(user)
  const s = session
  const title = h('h1', { class: 'page-title' })
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' })
  const content = h('main', { class: 'content', id: 'content' })
  const alertCount = h('span', { class: 'nav-count', hidden: true })
  const live = h('span', { class: 'live-state', title: 'Real-time connection', role: 'status' }, h('span', { class: 'dot' }), 'Connecting…')
  const navLinks = NAV.filter((n) => !n.admin || user.admin).map((n) =>
    h('a', { href: n.href, class: 'nav-link', dataset: { nav: n.id } }, icon(n.icon), h('span', null, n.label), n.id === 'alerts' ? alertCount : null),
  )

  const ctx: ViewContext = {
    session: s,
    setTitle(text, path = []) {
      title.textContent = text
      document.title = `${text} · wirehub`
      replace(crumbs, path.map((c) => [h('a', { href: c.href }, c.label), h('span', { class: 'sep' }, '/')]))
    },
    go(hash) {
      location.hash = hash
    },
  }

  const doLogout = async () => {
    stopShell?.()
    await logout()
    history.replaceState(null, '', '/')
    showLogin()
  }

  replace(
    root,
    h(
      'div',
      { class: 'shell' },
      h(
        'aside',
        { class: 'sidebar' },
        h(
          'div',
          { class: 'sidebar-inner' },
          h('a', { class: 'brand', href: '#/servers' }, logo(), h('span', null, 'wirehub')),
          h('nav', { class: 'nav', 'aria-label': 'Pages' }, navLinks),
          h('div', { class: 'sidebar-foot' }, live),
        ),
      ),
      h(
        'div',
        { class: 'main' },
        h(
          'header',
          { class: 'topbar' },
          h('div', null, crumbs, title),
          h(
            'div',
            { class: 'user' },
            h('a', { class: 'avatar', href: '#/account', 'aria-label': 'Your account' }, user.email.slice(0, 1).toUpperCase()),
            h('div', { class: 'user-meta' }, h('strong', { class: 'user-email' }, user.email), user.admin ? badge('administrator', 'violet') : h('span', { class: 'muted small' }, 'user')),
            h('button', { class: 'btn btn-ghost', 'data-testid': 'logout', on: { click: () => void doLogout() } }, icon('logout', 16), 'Log out'),
          ),
        ),
        content,
      ),
    ),
  )

  // The session-wide channels socket: live connection indicator, alert toasts and counter.
  const ch = s.channels
  const showLive = (state: string) => {
    const ok = state === 'ready'
    live.className = `live-state ${ok ? 'ok' : state === 'closed' ? 'down' : 'wait'}`
    live.lastChild!.textContent = ok ? 'Live' : state === 'closed' ? 'Disconnected' : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'
  }
  showLive(ch.state)
  ch.on('state', showLive)
  ch.on('error', (err) => {
    if (isStatus(err, 401)) void sessionExpired()
  })
  // 4010: the credential behind the socket was revoked; if that was this session, say so.
  ch.on('close', (ev) => {
    if (!ev.willReconnect && ev.code === 4010) void currentUser().then((u) => (u ? undefined : sessionExpired()))
  })
  let unseen = 0
  ch.subscribe('alerts')
  ch.subscribe('devices')
  ch.onAlert((a) => {
    if (a.recovered) return
    if (!location.hash.startsWith('#/alerts')) {
      unseen++
      alertCount.textContent = String(unseen)
      alertCount.hidden = false
    }
    toast(a.message, a.severity === 'critical' ? 'error' : a.severity === 'warning' ? 'warning' : 'info', a.title)
  })

  const route = () => {
    const path = location.hash.replace(/^#/, '') || '/servers'
    const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m)
    if (!match) {
      location.replace('#/servers')
      return
    }
    current?.dispose?.()
    current = null
    for (const a of navLinks) a.classList.toggle('active', a.dataset.nav === match.r.nav)
    if (match.r.nav === 'alerts') {
      unseen = 0
      alertCount.hidden = true
    }
    try {
      current = match.r.view(ctx, match.m!.slice(1).map((p) => decodeURIComponent(p)))
      replace(content, current.el)
    } catch (err) {
      toast(errorMessage(err), 'error', 'This page failed to load')
    }
  }
  window.addEventListener('hashchange', route)
  stopShell = () => {
    window.removeEventListener('hashchange', route)
    current?.dispose?.()
    current = null
    s.close()
    session = null
    stopShell = null
  }
  route()
}

async function sessionExpired(): Promise<void> {
  // Only a signed-in shell can lose its session (the boot probe's 401 is not an ending).
  if (!stopShell) return
  stopShell()
  showLogin('Your session has ended. Please sign in again.')
}

/* --------------------------------------------------------------------- boot */

async function boot(): Promise<void> {
  replace(root, h('div', { class: 'boot' }, h('span', { class: 'spin' })))
  const user = await currentUser()
  if (user) startShell(user)
  else showLogin()
}

onSessionEnded(() => void sessionExpired())
void boot()
