/**
 * Users (administrators only; the Application API through the administrator's session): every
 * account, create one (optionally with a first client API key, shown once), edit email, name,
 * password and the administrator flag, delete.
 */
import { api, errorMessage, type Item, type List } from '../lib/api.js'
import { badge, button, emptyState, h, replace, spinner, tableWrap } from '../lib/dom.js'
import { time } from '../lib/format.js'
import { confirmDialog, formDialog, secretBox } from '../ui/forms.js'
import { retryLoad } from '../ui/retry.js'
import type { View, ViewContext } from './view.js'

interface AppUser {
  id: number
  uuid: string
  username: string | null
  email: string
  root_admin: boolean
  created_at: string
}

export function usersView(ctx: ViewContext): View {
  ctx.setTitle('Users')
  if (!ctx.session.user.admin) {
    return { el: h('div', { class: 'card' }, emptyState('users', 'Administrators only', 'Only administrators manage users. Your own account is under Account.')) }
  }
  const body = h('div', { class: 'card-body flush' }, spinner('Loading users…'))
  const count = h('span', { class: 'muted small' })
  const el = h(
    'section',
    { class: 'stack' },
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('div', null, h('h2', null, 'Users'), count), button('New user', { kind: 'primary', icon: 'plus', testid: 'new-user', onClick: () => createUser() })), body),
  )

  const createUser = () =>
    formDialog({
      title: 'New user',
      submitLabel: 'Create user',
      testid: 'user-form',
      fields: [
        { name: 'email', label: 'Email', type: 'email', required: true },
        { name: 'username', label: 'Username', hint: 'Letters, digits, _ . -' },
        { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters. Empty: the user cannot sign in until one is set.' },
        { name: 'root_admin', label: 'Administrator', type: 'checkbox', hint: 'Manages every server and user.' },
        { name: 'with_client_key', label: 'Create a client API key', type: 'checkbox', hint: 'Shown once, right after creation.' },
      ],
      async onSubmit(v) {
        const b: Record<string, unknown> = { email: String(v.email).trim(), root_admin: v.root_admin === true, with_client_key: v.with_client_key === true }
        if (String(v.username).trim()) b.username = String(v.username).trim()
        if (v.password) b.password = v.password
        const res = await api.post<Item<AppUser> & { meta?: { api_key?: string } }>('/api/application/users', b)
        loader.now()
        const key = res.meta?.api_key
        return h('div', null, h('div', { class: 'notice notice-success' }, `User ${res.attributes.email} created.`), key ? secretBox(key, 'user-api-key', 'API key') : null)
      },
    })

  const editUser = (u: AppUser) =>
    formDialog({
      title: `Edit ${u.email}`,
      submitLabel: 'Save user',
      testid: 'user-form',
      fields: [
        { name: 'email', label: 'Email', type: 'email', required: true, value: u.email },
        { name: 'username', label: 'Username', value: u.username },
        { name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: 'Leave empty to keep it. A new password signs the user out everywhere.' },
        { name: 'root_admin', label: 'Administrator', type: 'checkbox', value: u.root_admin },
      ],
      async onSubmit(v) {
        const b: Record<string, unknown> = { email: String(v.email).trim(), username: String(v.username).trim() || null, root_admin: v.root_admin === true }
        if (v.password) b.password = v.password
        await api.patch(`/api/application/users/${u.id}`, b)
        loader.now()
      },
    })

  async function load(): Promise<void> {
    const res = await api.get<List<AppUser>>('/api/application/users?per_page=100')
    const users = res.data.map((d) => d.attributes)
    count.textContent = `${res.meta?.pagination?.total ?? users.length} users`
    replace(
      body,
      tableWrap(
        h(
          'table',
          { class: 'table', 'data-testid': 'users-table' },
          h('thead', null, h('tr', null, h('th', null, 'User'), h('th', null, 'Role'), h('th', null, 'Created'), h('th', { class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h(
            'tbody',
            null,
            users.map((u) => {
              const self = u.id === ctx.session.user.id
              const del = button('Delete', {
                kind: 'ghost',
                icon: 'trash',
                title: self ? 'You cannot delete your own account' : undefined,
                onClick: () =>
                  confirmDialog({
                    title: 'Delete user',
                    text: `Delete ${u.email}? Their keys and sessions end at once.`,
                    confirmLabel: 'Delete user',
                    done: 'User deleted.',
                    onConfirm: async () => {
                      await api.del(`/api/application/users/${u.id}`)
                      loader.now()
                    },
                  }),
              })
              del.disabled = self
              return h(
                'tr',
                { dataset: { user: u.email } },
                h('td', null, h('div', { class: 'cell-title' }, u.email, self ? h('span', { class: 'muted small' }, '(you)') : null), u.username ? h('div', { class: 'muted small' }, u.username) : null),
                h('td', null, u.root_admin ? badge('administrator', 'violet') : badge('user', 'gray')),
                h('td', { class: 'muted nowrap' }, time(u.created_at)),
                h('td', { class: 'right nowrap' }, button('Edit', { kind: 'ghost', icon: 'edit', onClick: () => editUser(u) }), del),
              )
            }),
          ),
        ),
      ),
    )
  }

  const loader = retryLoad({ what: 'Users', icon: 'users', load, show: (e) => replace(body, e), terminal: (err) => replace(body, emptyState('users', 'Users are unavailable', errorMessage(err))) })
  return { el, dispose: () => loader.stop() }
}
