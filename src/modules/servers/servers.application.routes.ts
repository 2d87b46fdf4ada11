/**
 * Application API for game servers (`/api/application/servers`, administrators' application
 * keys): list, show, create, update, delete, suspend and unsuspend, in Pterodactyl envelopes.
 * Every `:server` accepts the numeric id, the uuid or the 8-character identifier.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { APPLICATION_SECURITY, PaginationQuery, listSchema, objectSchema, page, withErrors, wrap } from '../../lib/envelope.js'
import { AppServerParams, ApplicationServerAttributes, CreateServerBody, UpdateServerBody } from './servers.schemas.js'
import type { ServersService } from './servers.service.js'
import type { ServerRow } from './servers.repository.js'
import { applicationAttributes } from './servers.views.js'

const tags = ['application: servers']
const security = APPLICATION_SECURITY
const One = objectSchema('server', ApplicationServerAttributes)

export const serversApplicationRoutes: FastifyPluginAsyncTypebox<{ service: ServersService }> = async (app, { service }) => {
  const view = (row: ServerRow) => wrap('server', applicationAttributes(row, service.cwdOf(row), service.state(row.uuid)))

  app.get('/servers', {
    schema: { summary: 'List every server (paginated)', tags, security, querystring: PaginationQuery, response: withErrors({ 200: listSchema('server', ApplicationServerAttributes) }) },
    handler: async (request) => {
      const { total, rows } = await service.page({}, request.query)
      return page('server', rows.map((r) => applicationAttributes(r, service.cwdOf(r), service.state(r.uuid))), total, request.query)
    },
  })

  app.get('/servers/:server', {
    schema: { summary: 'One server by id, uuid or 8-character identifier', tags, security, params: AppServerParams, response: withErrors({ 200: One }) },
    handler: async (request) => view(await service.find(request.params.server)),
  })

  app.post('/servers', {
    schema: { summary: 'Define a server: owner, command, arguments, working directory, stop method, limits', tags, security, body: CreateServerBody, response: withErrors({ 201: One }) },
    handler: async (request, reply) => {
      const row = await service.create(request.body)
      reply.code(201)
      return view(row)
    },
  })

  app.patch('/servers/:server', {
    schema: { summary: "Change a server's definition", tags, security, params: AppServerParams, body: UpdateServerBody, response: withErrors({ 200: One }) },
    handler: async (request) => view(await service.update(request.params.server, request.body)),
  })

  for (const [path, suspended] of [['suspend', true], ['unsuspend', false]] as const) {
    app.post(`/servers/:server/${path}`, {
      schema: { summary: `${path === 'suspend' ? 'Suspend a server (stops it; its console sockets close with 1001)' : 'Lift a suspension'}`, tags, security, params: AppServerParams, response: withErrors({ 204: Type.Null() }) },
      handler: async (request, reply) => {
        await service.update(request.params.server, { suspended })
        return reply.code(204).send(null)
      },
    })
  }

  app.delete('/servers/:server', {
    schema: { summary: 'Delete a server (stops its process and closes its sockets)', tags, security, params: AppServerParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      await service.remove(request.params.server)
      return reply.code(204).send(null)
    },
  })
}
