/**
 * The signed-in user's own account: change the password (the current one is required; every
 * other session ends), the browser sessions (end any but this one from here), and API keys —
 * client keys for everyone, application keys for administrators — created with the key shown
 * once, and revoked.
 */
import { api, errorMessage, list } from '../lib/api.js'
import { badge, button, emptyState, h, replace, spinner, tableWrap, toast } from '../lib/dom.js'
import { ago, time } from '../lib/format.js'
import { confirmDialog, formDialog, secretBox } from '../ui/forms.js'
import { retryLoad, type RetryLoad } from '../ui/retry.js'
import type { View, ViewContext } from './view.js'

interface SessionRow {
  id: number
  ip: string | null
  user_agent: string | null
  created_at: string
  expires_at: string
  current: boolean
}

interface ApiKey {
  identifier: string
  description: string
  allowed_ips: string[]
  last_used_at: string | null
  created_at: string
}

export function accountView(ctx: ViewContext): View {
  ctx.setTitle('Account')
  const user = ctx.session.user
  const loaders: RetryLoad[] = []

  /* password */
  const pwError = h('div', { class: 'form-error', role: 'alert', hidden: true })
  const current = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password', required: true })
  const next = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: '8' })
  const confirm = h('input', { type: 'password', name: 'password_confirmation', autocomplete: 'new-password', required: true })
  const pwSubmit = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Change password')
  const pwForm = h(
    'form',
    {
      class: 'form',
      'data-testid': 'password-form',
      on: {
        submit: (e) => {
          e.preventDefault()
          pwError.hidden = true
          if (next.value !== confirm.value) {
            pwError.textContent = 'The new password and its confirmation differ.'
            pwError.hidden = false
            return
          }
          pwSubmit.disabled = true
          api.put('/api/client/account/password', { current_password: current.value, password: next.value, password_confirmation: confirm.value }).then(
            () => {
              pwForm.reset()
              pwSubmit.disabled = false
              toast('Password changed. Your other sessions were signed out.', 'success')
              sessions.now()
            },
            (err: unknown) => {
              pwError.textContent = errorMessage(err)
              pwError.hidden = false
              pwSubmit.disabled = false
            },
          )
        },
      },
    },
    pwError,
    h('label', { class: 'field' }, h('span', null, 'Current password'), current),
    h('div', { class: 'form-row' }, h('label', { class: 'field' }, h('span', null, 'New password'), next), h('label', { class: 'field' }, h('span', null, 'Repeat the new password'), confirm)),
    h('div', null, pwSubmit),
  )

  /* sessions */
  const sessionsBody = h('div', { class: 'card-body flush' }, spinner('Loading sessions…'))
  const sessions = retryLoad({
    what: 'Sessions',
    icon: 'user',
    show: (e) => replace(sessionsBody, e),
    terminal: (err) => replace(sessionsBody, emptyState('user', 'Sessions are unavailable', errorMessage(err))),
    load: async () => {
      const rows = await list<SessionRow>('/api/client/account/sessions')
      replace(
        sessionsBody,
        tableWrap(
          h(
            'table',
            { class: 'table', 'data-testid': 'sessions-table' },
            h('thead', null, h('tr', null, h('th', null, 'Browser'), h('th', null, 'IP'), h('th', null, 'Signed in'), h('th', { class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
            h(
              'tbody',
              null,
              rows.map((s) =>
                h(
                  'tr',
                  { dataset: { session: String(s.id), current: String(s.current) } },
                  h('td', null, h('div', { class: 'ellipsis', title: s.user_agent ?? '' }, s.user_agent ?? 'unknown'), s.current ? badge('this browser', 'green') : null),
                  h('td', { class: 'mono small' }, s.ip ?? '—'),
                  h('td', { class: 'muted nowrap' }, time(s.created_at)),
                  h(
                    'td',
                    { class: 'right' },
                    s.current
                      ? null
                      : button('End', {
                          kind: 'ghost',
                          onClick: () =>
                            void api.del(`/api/client/account/sessions/${s.id}`).then(
                              () => (toast('Session ended.', 'success'), sessions.now()),
                              (e: unknown) => toast(errorMessage(e), 'error'),
                            ),
                        }),
                  ),
                ),
              ),
            ),
          ),
        ),
      )
    },
  })
  loaders.push(sessions)

  /* API keys */
  const keyCard = (kind: 'client' | 'application') => {
    const base = kind === 'client' ? '/api/client/account/api-keys' : '/api/application/api-keys'
    const body = h('div', { class: 'card-body flush' }, spinner('Loading keys…'))
    const create = () =>
      formDialog({
        title: kind === 'client' ? 'New client API key' : 'New application API key',
        submitLabel: 'Create key',
        testid: 'key-form',
        fields: [
          { name: 'description', label: 'Description', required: true, placeholder: 'What uses this key' },
          { name: 'allowed_ips', label: 'Allowed IPs', hint: 'Comma-separated addresses or CIDR ranges; empty allows any.' },
        ],
        async onSubmit(v) {
          const ips = String(v.allowed_ips)
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
          const res = await api.post<{ attributes: ApiKey; meta: { api_key: string } }>(base, { description: String(v.description).trim(), allowed_ips: ips })
          loader.now()
          return secretBox(res.meta.api_key, 'new-api-key', 'API key')
        },
      })
    const loader = retryLoad({
      what: 'API keys',
      icon: 'key',
      show: (e) => replace(body, e),
      terminal: (err) => replace(body, emptyState('key', 'API keys are unavailable', errorMessage(err))),
      load: async () => {
        const keys = await list<ApiKey>(base)
        if (!keys.length) return replace(body, emptyState('key', 'No keys', kind === 'client' ? 'A client key lets scripts and Pterodactyl clients act as you.' : 'An application key manages servers and users through the Application API.'))
        replace(
          body,
          tableWrap(
            h(
              'table',
              { class: 'table', 'data-testid': `${kind}-keys-table` },
              h('thead', null, h('tr', null, h('th', null, 'Key'), h('th', null, 'Description'), h('th', null, 'Last used'), h('th', { class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
              h(
                'tbody',
                null,
                keys.map((k) =>
                  h(
                    'tr',
                    { dataset: { key: k.identifier } },
                    h('td', { class: 'mono nowrap' }, k.identifier),
                    h('td', null, k.description, k.allowed_ips.length ? h('div', { class: 'muted small' }, `only from ${k.allowed_ips.join(', ')}`) : null),
                    h('td', { class: 'muted nowrap' }, k.last_used_at ? ago(k.last_used_at) : 'never'),
                    h(
                      'td',
                      { class: 'right' },
                      button('Revoke', {
                        kind: 'ghost',
                        icon: 'trash',
                        onClick: () =>
                          confirmDialog({
                            title: 'Revoke API key',
                            text: `Revoke ${k.identifier} (${k.description})? Anything using it is refused at once.`,
                            confirmLabel: 'Revoke key',
                            done: 'Key revoked.',
                            onConfirm: async () => {
                              await api.del(`${base}/${k.identifier}`)
                              loader.now()
                            },
                          }),
                      }),
                    ),
                  ),
                ),
              ),
            ),
          ),
        )
      },
    })
    loaders.push(loader)
    return h(
      'div',
      { class: 'card', 'data-testid': `${kind}-keys` },
      h('div', { class: 'card-head' }, h('h2', null, kind === 'client' ? 'Client API keys' : 'Application API keys'), button('New key', { kind: 'primary', icon: 'plus', testid: `new-${kind}-key`, onClick: create })),
      body,
    )
  }

  const el = h(
    'section',
    { class: 'stack' },
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'card-head' }, h('div', null, h('h2', null, user.email), user.admin ? badge('administrator', 'violet') : badge('user', 'gray'))),
      h('div', { class: 'card-body' }, h('h3', { class: 'section-title' }, 'Change password'), h('p', { class: 'muted small' }, 'Your other browser sessions are signed out; this one stays.'), pwForm),
    ),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Sessions')), sessionsBody),
    keyCard('client'),
    user.admin ? keyCard('application') : null,
  )
  return {
    el,
    dispose() {
      for (const l of loaders) l.stop()
    },
  }
}
