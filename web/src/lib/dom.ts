/**
 * A few DOM helpers instead of a framework: `h()` builds elements, `icon()` inlines the small
 * SVG icon set, `toast()` shows a transient message. Text always goes in as text nodes, so
 * server-provided strings (names, alert titles, console lines) can never inject markup.
 */

export type Child = Node | string | number | null | undefined | false | Child[]

export interface Attrs {
  class?: string | undefined
  style?: string | undefined
  dataset?: Record<string, string> | undefined
  /** Event handlers: `on: { click: fn }`. */
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void } | undefined
  /** Anything else becomes an attribute (`false`/`null`/`undefined` leave it out, `true` sets it empty). */
  [attr: string]: unknown
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue
      if (key === 'class') el.className = String(value)
      else if (key === 'dataset') Object.assign(el.dataset, value)
      else if (key === 'on') {
        for (const [name, fn] of Object.entries(value as Record<string, EventListener>)) el.addEventListener(name, fn)
      } else if (key === 'value' && 'value' in el) (el as unknown as { value: string }).value = String(value)
      else el.setAttribute(key, value === true ? '' : String(value))
    }
  }
  append(el, children)
  return el
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

/* -------------------------------------------------------------------- icons */

const ICONS: Record<string, string> = {
  server: '<rect x="3" y="4" width="18" height="7" rx="2"/><rect x="3" y="13" width="18" height="7" rx="2"/><path d="M7 7.5h.01M7 16.5h.01"/>',
  device: '<rect x="6" y="6" width="12" height="12" rx="2"/><path d="M9 2v4M15 2v4M9 18v4M15 18v4M2 9h4M2 15h4M18 9h4M18 15h4"/>',
  alert: '<path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"/><path d="M12 9v4M12 17h.01"/>',
  system: '<path d="M22 12h-4l-3 9L9 3l-3 9H2"/>',
  logout: '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9"/>',
  play: '<path d="M6 4l14 8-14 8z"/>',
  stop: '<rect x="5" y="5" width="14" height="14" rx="2"/>',
  restart: '<path d="M21 12a9 9 0 1 1-3-6.7L21 8"/><path d="M21 3v5h-5"/>',
  kill: '<path d="M18 6 6 18M6 6l12 12"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  back: '<path d="M15 18l-6-6 6-6"/>',
  check: '<path d="M20 6 9 17l-5-5"/>',
  trash: '<path d="M3 6h18M8 6V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6"/>',
  copy: '<rect x="9" y="9" width="13" height="13" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/>',
  send: '<path d="M22 2 11 13M22 2l-7 20-4-9-9-4z"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
  users: '<circle cx="9" cy="8" r="4"/><path d="M1 21a8 8 0 0 1 16 0M17 4a4 4 0 0 1 0 8M23 21a8 8 0 0 0-5-7.4"/>',
  key: '<circle cx="7.5" cy="15.5" r="4.5"/><path d="m10.7 12.3 9.8-9.8M17 6l3 3M14.5 8.5l2 2"/>',
  edit: '<path d="M12 20h9"/><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z"/>',
  pause: '<rect x="6" y="4" width="4" height="16" rx="1"/><rect x="14" y="4" width="4" height="16" rx="1"/>',
  download: '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3"/>',
  search: '<circle cx="11" cy="11" r="7"/><path d="m21 21-4.3-4.3"/>',
  inbox: '<path d="M22 12h-6l-2 3h-4l-2-3H2"/><path d="M5.5 5.1 2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.5-6.9A2 2 0 0 0 16.8 4H7.2a2 2 0 0 0-1.7 1.1z"/>',
}

export function icon(name: keyof typeof ICONS | string, size = 18): HTMLSpanElement {
  const span = h('span', { class: 'icon', 'aria-hidden': 'true' })
  // Static, trusted markup from the table above (never data).
  span.innerHTML = `<svg width="${size}" height="${size}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${ICONS[name] ?? ''}</svg>`
  return span
}

/* ------------------------------------------------------------------- toasts */

export type ToastKind = 'error' | 'success' | 'info' | 'warning'

/** Shows a message in the corner for a few seconds (errors stay longer). */
export function toast(message: string, kind: ToastKind = 'info', title?: string): void {
  const host = document.getElementById('toasts')
  if (!host) return
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('div', { class: 'toast-body' }, title ? h('strong', null, title) : null, h('span', null, message)),
    h('button', { class: 'toast-close', 'aria-label': 'Dismiss', on: { click: () => el.remove() } }, '×'),
  )
  host.appendChild(el)
  while (host.children.length > 3) host.firstElementChild?.remove()
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : kind === 'success' ? 3000 : 5000)
}

/* ----------------------------------------------------------------- widgets */

const STATE_KIND: Record<string, string> = {
  running: 'green',
  online: 'green',
  resolved: 'green',
  starting: 'amber',
  stopping: 'amber',
  warning: 'amber',
  acknowledged: 'blue',
  maintenance: 'blue',
  info: 'blue',
  offline: 'gray',
  open: 'red',
  critical: 'red',
  suspended: 'red',
}

/** A coloured status pill; `dot` adds the live-state dot. */
export function badge(text: string, kind = STATE_KIND[text] ?? 'gray', dot = false): HTMLSpanElement {
  return h('span', { class: `badge badge-${kind}`, dataset: { state: text } }, dot ? h('span', { class: 'dot' }) : null, text)
}

export function setBadge(el: HTMLElement, text: string, dot = true): void {
  el.replaceWith(badge(text, undefined, dot))
}

export function emptyState(iconName: string, title: string, text: string, action?: Child): HTMLElement {
  return h('div', { class: 'empty' }, h('div', { class: 'empty-icon' }, icon(iconName, 28)), h('h3', null, title), h('p', null, text), action ?? null)
}

/** The header card of a detail page (a server's console, a device): title and badge over a meta line, with something on the right. */
export function detailHeader(title: string, titleBadge: HTMLElement, meta: Child[], right: Child): HTMLElement {
  return h(
    'div',
    { class: 'card' },
    h('div', { class: 'card-body server-head' }, h('div', null, h('div', { class: 'server-title' }, h('h2', null, title), titleBadge), h('div', { class: 'muted small' }, ...meta)), right),
  )
}

export function spinner(label = 'Loading…'): HTMLElement {
  return h('div', { class: 'loading' }, h('span', { class: 'spin' }), label)
}

export function button(label: Child, opts: { kind?: string; icon?: string; onClick?: (ev: MouseEvent) => void; title?: string; type?: string; testid?: string } = {}): HTMLButtonElement {
  return h(
    'button',
    { class: `btn btn-${opts.kind ?? 'secondary'}`, type: opts.type ?? 'button', title: opts.title, 'data-testid': opts.testid, on: opts.onClick ? { click: opts.onClick } : undefined },
    opts.icon ? icon(opts.icon, 16) : null,
    label,
  )
}

/** A modal dialog; returns its close function. `body` receives that function too. Focus returns to where it was on close. */
export function modal(title: string, body: (close: () => void) => Child, opts: { wide?: boolean } = {}): () => void {
  const opener = document.activeElement as HTMLElement | null
  const close = () => {
    overlay.remove()
    document.removeEventListener('keydown', onKey)
    opener?.focus?.()
  }
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') close()
  }
  const titleId = `modal-title-${++modalSeq}`
  const overlay = h(
    'div',
    { class: 'modal-overlay', on: { mousedown: (e) => e.target === overlay && close() } },
    h(
      'div',
      { class: `modal${opts.wide ? ' modal-wide' : ''}`, role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId },
      h('div', { class: 'modal-head' }, h('h2', { id: titleId }, title), h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Close', on: { click: close } }, icon('kill', 18))),
      h('div', { class: 'modal-body' }, body(close)),
    ),
  )
  document.body.appendChild(overlay)
  document.addEventListener('keydown', onKey)
  overlay.querySelector<HTMLElement>('input:not([type=checkbox]),select,textarea,button.btn-primary')?.focus()
  return close
}
let modalSeq = 0

/** Wraps a table so that it scrolls sideways inside its card on narrow screens. */
export function tableWrap(table: HTMLTableElement): HTMLElement {
  return h('div', { class: 'table-wrap' }, table)
}
