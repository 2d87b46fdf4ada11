/**
 * Client API: subusers of a server (`/api/client/servers/:server/users`), Pterodactyl's paths,
 * verbs (POST updates) and `server_subuser` objects; each route needs the matching `user.*`
 * permission.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CLIENT_SECURITY, objectSchema, plainListSchema, withErrors, wrap } from '../../lib/envelope.js'
import { Forbidden } from '../../lib/errors.js'
import { P, has } from './permissions.js'
import { ClientServerParams, CreateSubuserBody, SubuserAttributes, SubuserParams, UpdateSubuserBody } from './servers.schemas.js'
import type { ServersService } from './servers.service.js'
import { actorOf, UNAUTHORIZED } from './servers.routes.js'
import type { SubusersService } from './subusers.service.js'
import { subuserAttributes } from './servers.views.js'

const tags = ['client: subusers']
const security = CLIENT_SECURITY
const One = objectSchema('server_subuser', SubuserAttributes)

export const subusersRoutes: FastifyPluginAsyncTypebox<{ service: ServersService; subusers: SubusersService }> = async (app, { service, subusers }) => {
  async function authorize(user: Parameters<ServersService['resolveForClient']>[0], ref: string, permission: string) {
    const r = await service.resolveForClient(user, ref)
    if (!has(r.access.permissions, permission)) throw new Forbidden(UNAUTHORIZED)
    return r
  }

  app.get('/servers/:server/users', {
    schema: { summary: "List a server's subusers", tags, security, params: ClientServerParams, response: withErrors({ 200: plainListSchema('server_subuser', SubuserAttributes) }) },
    handler: async (request) => {
      const { row } = await authorize(request.principal!.user, request.params.server, P.USER_READ)
      const list = await subusers.list(row)
      return { object: 'list' as const, data: list.map((s) => wrap('server_subuser', subuserAttributes(s))) }
    },
  })

  app.post('/servers/:server/users', {
    schema: { summary: 'Add a subuser by email, with permissions', tags, security, params: ClientServerParams, body: CreateSubuserBody, response: withErrors({ 200: One }) },
    handler: async (request) => {
      const { row, access } = await authorize(request.principal!.user, request.params.server, P.USER_CREATE)
      return wrap('server_subuser', subuserAttributes(await subusers.create(row, access, actorOf(request), request.body)))
    },
  })

  app.get('/servers/:server/users/:user', {
    schema: { summary: 'One subuser of a server', tags, security, params: SubuserParams, response: withErrors({ 200: One }) },
    handler: async (request) => {
      const { row } = await authorize(request.principal!.user, request.params.server, P.USER_READ)
      return wrap('server_subuser', subuserAttributes(await subusers.get(row, request.params.user)))
    },
  })

  app.post('/servers/:server/users/:user', {
    schema: { summary: "Change a subuser's permissions (their open sockets follow)", tags, security, params: SubuserParams, body: UpdateSubuserBody, response: withErrors({ 200: One }) },
    handler: async (request) => {
      const { row, access } = await authorize(request.principal!.user, request.params.server, P.USER_UPDATE)
      return wrap('server_subuser', subuserAttributes(await subusers.update(row, access, actorOf(request), request.params.user, request.body)))
    },
  })

  app.delete('/servers/:server/users/:user', {
    schema: { summary: 'Remove a subuser (their sockets close with 4010)', tags, security, params: SubuserParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      const { row } = await authorize(request.principal!.user, request.params.server, P.USER_DELETE)
      await subusers.remove(row, actorOf(request), request.params.user)
      return reply.code(204).send(null)
    },
  })
}
