/**
 * Subusers of a server (Pterodactyl's rules): only existing accounts can be added, never the
 * owner, never twice; permissions must be known names (`websocket.connect` is always added) and
 * a subuser can only grant what it holds itself. Every change closes the affected user's console
 * sockets on that server (their tokens carried the old permissions) and is logged.
 */
import { FieldError, Forbidden, NotFound, BadRequest } from '../../lib/errors.js'
import { normaliseSubuserPermissions } from './permissions.js'
import type { ServerRow, ServersRepository } from './servers.repository.js'
import type { Access, Actor, ServersService } from './servers.service.js'

export const CANNOT_GRANT = 'Cannot assign permissions to a subuser that your account does not actively possess.'

export function createSubusersService(deps: { repo: ServersRepository; servers: ServersService }) {
  const { repo, servers } = deps

  function permissionsOrThrow(requested: string[], access: Access): string[] {
    const n = normaliseSubuserPermissions(requested)
    if (!n.ok) throw new FieldError('permissions', `Unknown permission(s): ${n.unknown.join(', ')}.`, 'in')
    if (!servers.canGrant(access, n.permissions)) throw new Forbidden(CANNOT_GRANT)
    return n.permissions
  }

  async function findSub(row: ServerRow, userUuid: string) {
    const user = await repo.userByUuid(userUuid)
    const sub = user ? await repo.subuser(row.id, user.id) : null
    if (!user || !sub) throw new NotFound()
    return { ...sub, user }
  }

  return {
    list: (row: ServerRow) => repo.subusers(row.id),

    get: findSub,

    async create(row: ServerRow, access: Access, actor: Actor, input: { email: string; permissions: string[] }) {
      const permissions = permissionsOrThrow(input.permissions, access)
      const user = await repo.userByEmail(input.email)
      if (!user) throw new FieldError('email', 'No account exists with this email address.', 'exists')
      if (user.id === row.ownerId) throw new BadRequest('Cannot add the server owner as a subuser for this server.')
      if (await repo.subuser(row.id, user.id)) throw new BadRequest('A user with that email address is already assigned as a subuser for this server.')
      const sub = await repo.createSubuser(row.id, user.id, permissions)
      servers.hooks.accessChanged(user.id, row.uuid)
      await servers.activity(row, actor, 'server:subuser.create', { email: user.email, permissions })
      return sub
    },

    async update(row: ServerRow, access: Access, actor: Actor, userUuid: string, input: { permissions: string[] }) {
      const existing = await findSub(row, userUuid)
      if (existing.userId === actor.user.id) throw new Forbidden('You cannot edit your own subuser permissions.')
      const permissions = permissionsOrThrow(input.permissions, access)
      const sub = await repo.updateSubuser(existing.id, permissions)
      servers.hooks.accessChanged(existing.userId, row.uuid)
      await servers.activity(row, actor, 'server:subuser.update', { email: existing.user.email, old: existing.permissions, new: permissions })
      return sub
    },

    async remove(row: ServerRow, actor: Actor, userUuid: string) {
      const existing = await findSub(row, userUuid)
      if (existing.userId === actor.user.id) throw new Forbidden('You cannot delete your own subuser account.')
      await repo.deleteSubuser(existing.id)
      servers.hooks.accessChanged(existing.userId, row.uuid)
      await servers.activity(row, actor, 'server:subuser.delete', { email: existing.user.email })
    },
  }
}

export type SubusersService = ReturnType<typeof createSubusersService>
