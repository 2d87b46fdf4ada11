/**
 * Pterodactyl's subuser permission names (the subset wirehub implements) and the checks shared by
 * the client API, the credential endpoint and the console socket. Owners hold `*`; root
 * administrators also get `admin.websocket.errors` (error details on the console socket); a
 * subuser holds exactly its stored list. Pure: no database access here.
 */

export const P = {
  WEBSOCKET_CONNECT: 'websocket.connect',
  CONTROL_CONSOLE: 'control.console',
  CONTROL_START: 'control.start',
  CONTROL_STOP: 'control.stop',
  CONTROL_RESTART: 'control.restart',
  USER_CREATE: 'user.create',
  USER_READ: 'user.read',
  USER_UPDATE: 'user.update',
  USER_DELETE: 'user.delete',
  ACTIVITY_READ: 'activity.read',
  /** Not grantable to subusers: error details on the console socket (Wings). */
  ADMIN_WEBSOCKET_ERRORS: 'admin.websocket.errors',
} as const

/** Permissions a subuser may be given, grouped as `GET /api/client/permissions` shows them. */
export const SUBUSER_PERMISSIONS: Record<string, { description: string; keys: Record<string, string> }> = {
  websocket: {
    description: 'Allows the user to connect to the server websocket, giving them access to view console output and realtime server stats.',
    keys: { connect: 'Allows a user to connect to the websocket instance for a server to stream the console.' },
  },
  control: {
    description: 'Permissions that control a user\'s ability to control the power state of a server, or send commands.',
    keys: {
      console: 'Allows a user to send commands to the server instance via the console.',
      start: 'Allows a user to start the server if it is stopped.',
      stop: 'Allows a user to stop a server if it is running.',
      restart: 'Allows a user to perform a server restart. This allows them to start the server if it is offline, but not put the server in a completely stopped state.',
    },
  },
  user: {
    description: 'Permissions that allow a user to manage other subusers on a server.',
    keys: {
      create: 'Allows a user to create new subusers for the server.',
      read: 'Allows the user to view subusers and their permissions for the server.',
      update: 'Allows a user to modify other subusers.',
      delete: 'Allows a user to delete a subuser from the server.',
    },
  },
  activity: {
    description: 'Permissions that control a user\'s access to the server activity logs.',
    keys: { read: 'Allows a user to view the activity logs for the server.' },
  },
}

export const GRANTABLE = new Set(
  Object.entries(SUBUSER_PERMISSIONS).flatMap(([group, g]) => Object.keys(g.keys).map((k) => `${group}.${k}`)),
)

/** Wings' HasPermission: `*` grants everything except the `admin.*` permissions. */
export function has(perms: readonly string[], permission: string): boolean {
  if (perms.includes(permission)) return true
  return !permission.startsWith('admin') && perms.includes('*')
}

/** The permission a power action needs (Wings: `kill` needs `control.stop`). */
export const POWER_PERMISSION: Record<string, string> = {
  start: P.CONTROL_START,
  stop: P.CONTROL_STOP,
  restart: P.CONTROL_RESTART,
  kill: P.CONTROL_STOP,
}

export type AccessRole = 'owner' | 'admin' | 'subuser'

/** A caller's permissions on one server, or null when the server is invisible to them. */
export function permissionsFor(input: {
  isOwner: boolean
  isRootAdmin: boolean
  subuserPermissions: readonly string[] | null
}): { role: AccessRole; permissions: string[] } | null {
  if (input.isOwner) return { role: 'owner', permissions: input.isRootAdmin ? ['*', P.ADMIN_WEBSOCKET_ERRORS] : ['*'] }
  if (input.isRootAdmin) return { role: 'admin', permissions: ['*', P.ADMIN_WEBSOCKET_ERRORS] }
  if (input.subuserPermissions) return { role: 'subuser', permissions: [...input.subuserPermissions] }
  return null
}

/**
 * Normalises a requested subuser permission list: unknown names are refused, duplicates removed,
 * and `websocket.connect` added as Pterodactyl's SubuserController does.
 */
export function normaliseSubuserPermissions(requested: readonly string[]): { ok: true; permissions: string[] } | { ok: false; unknown: string[] } {
  const unknown = requested.filter((p) => !GRANTABLE.has(p))
  if (unknown.length > 0) return { ok: false, unknown }
  return { ok: true, permissions: [...new Set([...requested, P.WEBSOCKET_CONNECT])].sort() }
}
