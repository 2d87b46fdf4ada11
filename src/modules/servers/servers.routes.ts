/**
 * Client API for game servers (Pterodactyl paths under /api/client): the caller's servers, one
 * server, its resources, power and commands, the console socket credentials and the permission
 * catalogue. Registered under the requireClient guard.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import Type from 'typebox'
import { CLIENT_SECURITY, listSchema, objectSchema, page, withErrors, wrap } from '../../lib/envelope.js'
import { Forbidden } from '../../lib/errors.js'
import { credentialRef } from '../auth/principal.js'
import type { ServerRouting } from './servers.cluster.js'
import { P, POWER_PERMISSION, SUBUSER_PERMISSIONS, has } from './permissions.js'
import {
  ClientListQuery, ClientServerAttributes, ClientServerMeta, ClientServerParams, CommandBody, PermissionsResponse, PowerBody, ResourcesSchema, WebsocketCredentials,
} from './servers.schemas.js'
import type { Actor, ServersService } from './servers.service.js'
import { clientAttributes, resourcesAttributes } from './servers.views.js'

const tags = ['client: servers']
const security = CLIENT_SECURITY

export const NO_WEBSOCKET_PERMISSION = "You do not have permission to connect to this server's websocket."
/** Laravel's authorization failure text, as Pterodactyl returns it. */
export const UNAUTHORIZED = 'This action is unauthorized.'

export function actorOf(request: FastifyRequest): Actor {
  const p = request.principal!
  return { user: p.user, ip: request.ip, viaApi: p.via === 'key' }
}

export const serversRoutes: FastifyPluginAsyncTypebox<{ service: ServersService; routing: ServerRouting }> = async (
  app,
  { service, routing },
) => {
  app.get('/', {
    schema: { summary: "The caller's servers (owned and subuser), or every server for administrators with ?type=admin", tags, security, querystring: ClientListQuery, response: withErrors({ 200: listSchema('server', ClientServerAttributes) }) },
    handler: async (request) => {
      const user = request.principal!.user
      const q = request.query
      const all = (q.type === 'admin' || q.type === 'admin-all') && user.rootAdmin
      const where = all ? {} : q.type === 'owner' ? { ownerId: user.id } : { OR: [{ ownerId: user.id }, { subusers: { some: { userId: user.id } } }] }
      const { total, rows } = await service.page(where, q)
      return page('server', rows.map((r) => clientAttributes(r, user.id)), total, q)
    },
  })

  app.get('/permissions', {
    schema: { summary: 'The subuser permission catalogue', tags, security, response: withErrors({ 200: PermissionsResponse }) },
    handler: async () => ({ object: 'system_permissions' as const, attributes: { permissions: SUBUSER_PERMISSIONS } }),
  })

  app.get('/servers/:server', {
    schema: {
      summary: "One server, with the caller's permissions in meta",
      tags, security, params: ClientServerParams,
      response: withErrors({ 200: Type.Intersect([objectSchema('server', ClientServerAttributes), Type.Object({ meta: ClientServerMeta })]) }),
    },
    handler: async (request) => {
      const user = request.principal!.user
      const { row, access } = await service.resolveForClient(user, request.params.server, { allowSuspended: true })
      return { ...wrap('server', clientAttributes(row, user.id)), meta: { is_server_owner: row.ownerId === user.id, user_permissions: access.permissions } }
    },
  })

  app.get('/servers/:server/resources', {
    schema: { summary: 'Current state and resource usage of a server', tags, security, params: ClientServerParams, response: withErrors({ 200: ResourcesSchema }) },
    handler: async (request) => {
      const { row } = await service.resolveForClient(request.principal!.user, request.params.server)
      const stats = (await service.currentStats(row.uuid)) ?? { memory_bytes: 0, memory_limit_bytes: 0, cpu_absolute: 0, network: { rx_bytes: 0, tx_bytes: 0 }, uptime: 0, state: 'offline' as const, disk_bytes: 0 }
      return { object: 'stats' as const, attributes: resourcesAttributes(row, stats) }
    },
  })

  app.post('/servers/:server/power', {
    schema: { summary: 'Start, stop, restart or kill a server', tags, security, params: ClientServerParams, body: PowerBody, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      const { row, access } = await service.resolveForClient(request.principal!.user, request.params.server)
      const signal = request.body.signal
      if (!has(access.permissions, POWER_PERMISSION[signal]!)) throw new Forbidden(UNAUTHORIZED)
      await routing.power(row, signal, actorOf(request))
      return reply.code(204).send(null)
    },
  })

  app.post('/servers/:server/command', {
    schema: { summary: "Send a command line to a running server's console", tags, security, params: ClientServerParams, body: CommandBody, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      const { row, access } = await service.resolveForClient(request.principal!.user, request.params.server)
      if (!has(access.permissions, P.CONTROL_CONSOLE)) throw new Forbidden(UNAUTHORIZED)
      await routing.command(row, request.body.command, actorOf(request))
      return reply.code(204).send(null)
    },
  })

  app.get('/servers/:server/websocket', {
    schema: { summary: "Token and address of the server's console socket", tags, security, params: ClientServerParams, response: withErrors({ 200: WebsocketCredentials }) },
    handler: async (request) => {
      const p = request.principal!
      const { row, access } = await service.resolveForClient(p.user, request.params.server)
      if (!has(access.permissions, P.WEBSOCKET_CONNECT)) throw new Forbidden(NO_WEBSOCKET_PERMISSION)
      const token = app.socketTokens.sign({
        userUuid: p.user.uuid,
        userId: p.user.id,
        permissions: access.permissions,
        scope: 'console',
        cred: credentialRef(p),
        serverUuid: row.uuid,
      })
      const base = await routing.socketBase(row)
      return { data: { token, socket: `${base}/api/servers/${row.uuid}/ws` } }
    },
  })
}
