/**
 * A server's subusers (Pterodactyl's Client API): who else may use this server and with which
 * permissions, as checkboxes from the server's permission catalogue. Buttons follow the viewer's
 * own `user.*` permissions; the API enforces them either way.
 */
import { api, list } from '../lib/api.js'
import { badge, button, emptyState, h, replace, spinner, tableWrap, toast } from '../lib/dom.js'
import { confirmDialog, formDialog, type FieldSpec, type FormValues } from './forms.js'
import { retryLoad } from './retry.js'

interface Subuser {
  uuid: string
  email: string
  username: string | null
  permissions: string[]
  created_at: string
}

type Catalogue = Record<string, { description: string; keys: Record<string, string> }>

let catalogue: Promise<Catalogue> | null = null
function permissionCatalogue(): Promise<Catalogue> {
  catalogue ??= api.get<{ attributes: { permissions: Catalogue } }>('/api/client/permissions').then((b) => b.attributes.permissions)
  catalogue.catch(() => (catalogue = null))
  return catalogue
}

function permissionFields(cat: Catalogue, granted: string[]): FieldSpec[] {
  return Object.entries(cat).flatMap(([group, g]) =>
    Object.entries(g.keys).map(([key, description]) => ({ name: `perm:${group}.${key}`, label: `${group}.${key}`, type: 'checkbox' as const, value: granted.includes(`${group}.${key}`), hint: description })),
  )
}

const chosen = (v: FormValues) =>
  Object.entries(v)
    .filter(([k, on]) => k.startsWith('perm:') && on === true)
    .map(([k]) => k.slice(5))

export function subusersCard(serverId: string, can: (perm: string) => boolean): { el: HTMLElement; dispose(): void } {
  const base = `/api/client/servers/${encodeURIComponent(serverId)}/users`
  const body = h('div', { class: 'card-body flush' }, spinner('Loading subusers…'))
  const add = button('Add subuser', { kind: 'primary', icon: 'plus', testid: 'add-subuser', onClick: () => void addSubuser() })
  add.disabled = !can('user.create')
  const el = h('div', { class: 'card', 'data-testid': 'subusers' }, h('div', { class: 'card-head' }, h('h2', null, 'Subusers'), add), body)

  async function addSubuser(): Promise<void> {
    const cat = await permissionCatalogue()
    formDialog({
      title: 'Add subuser',
      submitLabel: 'Add subuser',
      wide: true,
      testid: 'subuser-form',
      intro: h('p', { class: 'muted' }, 'The user must already have an account. They see this server with the permissions ticked here.'),
      fields: [{ name: 'email', label: 'Email', type: 'email', required: true }, ...permissionFields(cat, ['websocket.connect'])],
      async onSubmit(v) {
        await api.post(base, { email: String(v.email).trim(), permissions: chosen(v) })
        toast('Subuser added.', 'success')
        loader.now()
      },
    })
  }

  async function edit(u: Subuser): Promise<void> {
    const cat = await permissionCatalogue()
    formDialog({
      title: `Permissions of ${u.email}`,
      submitLabel: 'Save permissions',
      wide: true,
      testid: 'subuser-form',
      intro: h('p', { class: 'muted' }, 'Their open consoles follow at once.'),
      fields: permissionFields(cat, u.permissions),
      async onSubmit(v) {
        await api.post(`${base}/${u.uuid}`, { permissions: chosen(v) })
        toast('Permissions saved.', 'success')
        loader.now()
      },
    })
  }

  const loader = retryLoad({
    what: 'Subusers',
    icon: 'users',
    show: (e) => replace(body, e),
    terminal: (err) => replace(body, emptyState('users', 'Subusers are not available to you', (err as Error).message)),
    load: async () => {
      const users = await list<Subuser>(base)
      if (!users.length) return replace(body, emptyState('users', 'No subusers', 'Add a user by email to share this server with them.'))
      replace(
        body,
        tableWrap(
          h(
            'table',
            { class: 'table', 'data-testid': 'subusers-table' },
            h('thead', null, h('tr', null, h('th', null, 'User'), h('th', null, 'Permissions'), h('th', { class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
            h(
              'tbody',
              null,
              users.map((u) => {
                const edit_ = button('Edit', { kind: 'ghost', icon: 'edit', onClick: () => void edit(u) })
                edit_.disabled = !can('user.update')
                const remove = button('Remove', {
                  kind: 'ghost',
                  icon: 'trash',
                  onClick: () =>
                    confirmDialog({
                      title: 'Remove subuser',
                      text: `Remove ${u.email} from this server? Their consoles close.`,
                      confirmLabel: 'Remove',
                      done: 'Subuser removed.',
                      onConfirm: async () => {
                        await api.del(`${base}/${u.uuid}`)
                        loader.now()
                      },
                    }),
                })
                remove.disabled = !can('user.delete')
                return h(
                  'tr',
                  { dataset: { subuser: u.email } },
                  h('td', null, h('div', { class: 'cell-title' }, u.email), u.username ? h('div', { class: 'muted small' }, u.username) : null),
                  h('td', null, u.permissions.length ? h('div', { class: 'btn-row' }, u.permissions.map((p) => badge(p, 'gray'))) : h('span', { class: 'muted' }, 'none')),
                  h('td', { class: 'right nowrap' }, edit_, remove),
                )
              }),
            ),
          ),
        ),
      )
    },
  })
  return { el, dispose: () => loader.stop() }
}

