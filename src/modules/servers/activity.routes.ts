/**
 * Client API: the activity log of a server (`/api/client/servers/:server/activity`): who did
 * what and when (power actions, console commands, subuser changes), newest first, paginated, in
 * Pterodactyl's `activity_log` objects. Needs `activity.read`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CLIENT_SECURITY, PaginationQuery, listSchema, page, withErrors } from '../../lib/envelope.js'
import { Forbidden } from '../../lib/errors.js'
import { P, has } from './permissions.js'
import type { ServersRepository } from './servers.repository.js'
import { ActivityAttributes, ClientServerParams } from './servers.schemas.js'
import type { ServersService } from './servers.service.js'
import { UNAUTHORIZED } from './servers.routes.js'
import { activityAttributes } from './servers.views.js'

export const activityRoutes: FastifyPluginAsyncTypebox<{ service: ServersService; repo: ServersRepository }> = async (app, { service, repo }) => {
  app.get('/servers/:server/activity', {
    schema: {
      summary: "A server's activity log, newest first",
      tags: ['client: activity'],
      security: CLIENT_SECURITY,
      params: ClientServerParams,
      querystring: PaginationQuery,
      response: withErrors({ 200: listSchema('activity_log', ActivityAttributes) }),
    },
    handler: async (request) => {
      const { row, access } = await service.resolveForClient(request.principal!.user, request.params.server, { allowSuspended: true })
      if (!has(access.permissions, P.ACTIVITY_READ)) throw new Forbidden(UNAUTHORIZED)
      const { total, rows } = await repo.activity(row.id, request.query)
      return page('activity_log', rows.map(activityAttributes), total, request.query)
    },
  })
}
