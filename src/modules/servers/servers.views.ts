/**
 * Row → response attribute builders, Pterodactyl's transformers: the application server, the
 * client server (with fields wirehub has no use for filled with Pterodactyl's neutral values, so
 * clients that read them keep working), subusers and activity entries.
 */
import type { ActivityLog, Subuser, User } from '../../generated/prisma/client.js'
import type { ServerRow } from './servers.repository.js'
import type { ServerState, StatsSnapshot } from './supervisor.js'

const limits = (row: ServerRow) => ({ memory: row.memoryLimitMb, swap: 0, disk: row.diskLimitMb, io: 500, cpu: row.cpuLimit, threads: null, oom_disabled: row.memoryLimitMb === 0 })

/** A readable command line for display only (the process is never run through a shell). */
export function invocation(row: ServerRow): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)
  return [row.command, ...row.args].map(quote).join(' ')
}

export function applicationAttributes(row: ServerRow, cwd: string, state: ServerState) {
  return {
    id: row.id,
    external_id: null,
    uuid: row.uuid,
    identifier: row.uuidShort,
    name: row.name,
    description: row.description,
    status: row.suspended ? 'suspended' : null,
    suspended: row.suspended,
    user: row.ownerId,
    node: row.node,
    limits: limits(row),
    container: {
      startup_command: invocation(row),
      command: row.command,
      args: row.args,
      cwd,
      environment: (row.env ?? {}) as Record<string, string>,
      stop: { type: row.stopType as 'command' | 'signal', value: row.stopValue },
      done_pattern: row.donePattern,
      installed: 1,
    },
    state,
    desired_state: row.desiredState,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

export function clientAttributes(row: ServerRow, userId: number) {
  return {
    server_owner: row.ownerId === userId,
    identifier: row.uuidShort,
    internal_id: row.id,
    uuid: row.uuid,
    name: row.name,
    node: row.node,
    is_node_under_maintenance: false,
    sftp_details: { ip: '', port: 0 },
    description: row.description,
    limits: limits(row),
    invocation: invocation(row),
    docker_image: '',
    egg_features: [],
    feature_limits: { databases: 0, allocations: 0, backups: 0 },
    status: row.suspended ? 'suspended' : null,
    is_suspended: row.suspended,
    is_installing: false,
    is_transferring: false,
  }
}

export function resourcesAttributes(row: ServerRow, s: StatsSnapshot) {
  return {
    current_state: s.state,
    is_suspended: row.suspended,
    resources: {
      memory_bytes: s.memory_bytes,
      cpu_absolute: s.cpu_absolute,
      disk_bytes: s.disk_bytes,
      network_rx_bytes: s.network.rx_bytes,
      network_tx_bytes: s.network.tx_bytes,
      uptime: s.uptime,
    },
  }
}

export function subuserAttributes(sub: Subuser & { user: User }) {
  return {
    uuid: sub.user.uuid,
    username: sub.user.username,
    email: sub.user.email,
    image: '',
    '2fa_enabled': false,
    created_at: sub.createdAt.toISOString(),
    permissions: sub.permissions,
  }
}

export function activityAttributes(a: ActivityLog) {
  const props = { ...((a.properties ?? {}) as Record<string, unknown>) }
  const isApi = props._api === true
  for (const k of Object.keys(props)) if (k.startsWith('_')) delete props[k]
  return {
    id: String(a.id),
    batch: null,
    event: a.event,
    is_api: isApi,
    ip: a.ip,
    description: null,
    properties: props,
    has_additional_metadata: Object.keys(props).length > 0,
    timestamp: a.createdAt.toISOString(),
    relationships: { actor: a.actorId === null ? null : { object: 'user' as const, attributes: { id: a.actorId, email: a.actorEmail } } },
  }
}
