/**
 * Administrators' server management (the Application API through the administrator's session):
 * the create/edit dialog with every field the API takes, suspend/unsuspend and delete.
 */
import { api, list, type Item } from '../lib/api.js'
import { confirmDialog, formDialog, type FieldSpec, type FormValues } from './forms.js'
import { h, toast } from '../lib/dom.js'

export interface AppServer {
  id: number
  uuid: string
  identifier: string
  name: string
  description: string
  suspended: boolean
  user: number
  limits: { memory: number; cpu?: number; disk?: number }
  container: { command: string; args: string[]; cwd: string; environment: Record<string, string>; stop: { type: 'command' | 'signal'; value: string }; done_pattern: string | null }
}

interface AppUser {
  id: number
  email: string
  username: string | null
}

const app = (ref: string) => `/api/application/servers/${encodeURIComponent(ref)}`

export async function loadAppServer(ref: string): Promise<AppServer> {
  return (await api.get<Item<AppServer>>(app(ref))).attributes
}

function lines(text: string | boolean | undefined): string[] {
  return String(text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
}

/** `KEY=value` per line → an object; a line without `=` is a mistake worth naming. */
function environment(text: string | boolean | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const l of lines(text)) {
    const i = l.indexOf('=')
    if (i <= 0) throw new Error(`environment: "${l}" is not KEY=value`)
    env[l.slice(0, i).trim()] = l.slice(i + 1)
  }
  return env
}

function body(v: FormValues, creating: boolean): Record<string, unknown> {
  const b: Record<string, unknown> = {
    name: String(v.name).trim(),
    user: Number(v.user),
    description: String(v.description ?? ''),
    command: String(v.command).trim(),
    args: lines(v.args),
    cwd: String(v.cwd).trim() || null,
    environment: environment(v.environment),
    stop: { type: v.stop_type === 'signal' ? 'signal' : 'command', value: String(v.stop_value).trim() || (v.stop_type === 'signal' ? 'SIGTERM' : 'stop') },
    done_pattern: String(v.done_pattern).trim() || null,
    limits: { memory: Number(v.memory || 0), cpu: Number(v.cpu || 0), disk: Number(v.disk || 0) },
  }
  if (creating) b.suspended = v.suspended === true
  return b
}

/** Creates (server null) or edits a server; `done` gets the saved server. */
export async function serverDialog(server: AppServer | null, done: (s: AppServer) => void): Promise<void> {
  const users = await list<AppUser>('/api/application/users?per_page=100')
  const c = server?.container
  const fields: FieldSpec[] = [
    { name: 'name', label: 'Name', required: true, value: server?.name, row: 'a' },
    { name: 'user', label: 'Owner', type: 'select', value: String(server?.user ?? users[0]?.id ?? ''), options: users.map((u) => ({ value: String(u.id), label: u.email })), row: 'a' },
    { name: 'description', label: 'Description', value: server?.description },
    { name: 'command', label: 'Command', required: true, value: c?.command, placeholder: '/usr/bin/java', hint: 'Program to run, without a shell: an absolute path or a name on PATH.' },
    { name: 'args', label: 'Arguments', type: 'textarea', value: c?.args.join('\n'), hint: 'One argument per line.' },
    { name: 'cwd', label: 'Working directory', value: c?.cwd, hint: 'Absolute; empty for the server’s own folder under the data directory.' },
    { name: 'environment', label: 'Environment', type: 'textarea', value: c ? Object.entries(c.environment).map(([k, val]) => `${k}=${val}`).join('\n') : '', hint: 'KEY=value, one per line.' },
    { name: 'stop_type', label: 'Stop with', type: 'select', value: c?.stop.type ?? 'command', options: [{ value: 'command', label: 'a console command' }, { value: 'signal', label: 'a signal' }], row: 'stop' },
    { name: 'stop_value', label: 'Stop command or signal', value: c?.stop.value ?? 'stop', row: 'stop' },
    { name: 'done_pattern', label: '“Running” pattern', value: c?.done_pattern, hint: 'A regular expression; the server is “starting” until a console line matches.', row: 'run' },
    { name: 'memory', label: 'Memory (MiB)', type: 'number', min: 0, value: server?.limits.memory ?? 0, hint: '0: no limit.', row: 'limits' },
    { name: 'cpu', label: 'CPU (% of one core)', type: 'number', min: 0, value: server?.limits.cpu ?? 0, hint: '100: one core; 0: no limit.', row: 'limits' },
    { name: 'disk', label: 'Disk (MiB)', type: 'number', min: 0, value: server?.limits.disk ?? 0, hint: '0: no limit.', row: 'limits' },
  ]
  if (!server) fields.push({ name: 'suspended', label: 'Create suspended', type: 'checkbox', value: false, hint: 'It cannot start until unsuspended.' })
  formDialog({
    title: server ? `Edit ${server.name}` : 'New server',
    submitLabel: server ? 'Save server' : 'Create server',
    wide: true,
    testid: 'server-form',
    fields,
    async onSubmit(v) {
      const saved = server
        ? (await api.patch<Item<AppServer>>(app(server.identifier), body(v, false))).attributes
        : (await api.post<Item<AppServer>>('/api/application/servers', body(v, true))).attributes
      toast(server ? 'Server saved.' : `Server “${saved.name}” created.`, 'success')
      done(saved)
    },
  })
}

export async function setSuspended(server: { identifier: string; name: string }, suspended: boolean): Promise<void> {
  await api.post(`${app(server.identifier)}/${suspended ? 'suspend' : 'unsuspend'}`)
  toast(suspended ? `${server.name} is suspended.` : `${server.name} is no longer suspended.`, 'success')
}

export function deleteServer(server: { identifier: string; name: string }, done: () => void): void {
  confirmDialog({
    title: 'Delete server',
    text: h('span', null, `Delete “${server.name}”? Its process is stopped and everyone’s console closes. This cannot be undone.`),
    confirmLabel: 'Delete server',
    done: 'Server deleted.',
    onConfirm: async () => {
      await api.del(app(server.identifier))
      done()
    },
  })
}
