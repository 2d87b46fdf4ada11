/** Client API: the caller's own account (`GET /api/client/account`). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CLIENT_SECURITY, objectSchema, withErrors, wrap } from '../../lib/envelope.js'
import { Unauthenticated } from '../../lib/errors.js'
import { AccountAttributes } from './account.schemas.js'

export const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/account', {
    schema: { summary: "The signed-in user's account", tags: ['client: account'], security: CLIENT_SECURITY, response: withErrors({ 200: objectSchema('user', AccountAttributes) }) },
    handler: async (request) => {
      const u = await app.prisma.user.findUnique({ where: { id: request.principal!.user.id } })
      if (!u) throw new Unauthenticated()
      return wrap('user', { id: u.id, uuid: u.uuid, admin: u.rootAdmin, username: u.username, email: u.email })
    },
  })
}
