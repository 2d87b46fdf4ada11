/** Application API: users CRUD (`/api/application/users`), administrators' application keys only. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { APPLICATION_SECURITY, listSchema, objectSchema, page, withErrors, wrap } from '../../lib/envelope.js'
import { KEY_TYPE_CLIENT } from '../auth/api-key.format.js'
import { ApiKeyAttributes, apiKeyAttributes } from '../account/account.schemas.js'
import { CreateUserBody, ListUsersQuery, UpdateUserBody, UserAttributes, UserIdParams } from './users.schemas.js'
import { userAttributes, type UsersService } from './users.service.js'

const tags = ['application: users']
const security = APPLICATION_SECURITY

const UserWithKey = Type.Intersect([
  objectSchema('user', UserAttributes),
  Type.Object({
    meta: Type.Optional(
      Type.Object({ api_key: Type.String(), api_key_attributes: ApiKeyAttributes }),
    ),
  }),
])

export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (app, { users }) => {
  app.get('/users', {
    schema: { summary: 'List users (filter by email, sort, paginate)', tags, security, querystring: ListUsersQuery, response: withErrors({ 200: listSchema('user', UserAttributes) }) },
    handler: async (request) => {
      const q = request.query
      const { total, rows } = await users.list({
        page: q.page,
        per_page: q.per_page,
        email: q['filter[email]'],
        uuid: q['filter[uuid]'],
        username: q['filter[username]'],
        sort: q.sort,
      })
      return page('user', rows.map(userAttributes), total, q)
    },
  })

  app.get('/users/:user', {
    schema: { summary: 'One user by id', tags, security, params: UserIdParams, response: withErrors({ 200: objectSchema('user', UserAttributes) }) },
    handler: async (request) => wrap('user', userAttributes(await users.find(request.params.user))),
  })

  app.post('/users', {
    schema: { summary: 'Create a user; with with_client_key, a client key for it is returned once in meta.api_key', tags, security, body: CreateUserBody, response: withErrors({ 201: UserWithKey }) },
    handler: async (request, reply) => {
      const b = request.body
      const user = await users.create({ email: b.email, username: b.username, password: b.password, rootAdmin: b.root_admin })
      reply.code(201)
      if (!b.with_client_key) return wrap('user', userAttributes(user))
      const { view, key } = await app.apiKeys.create(user, KEY_TYPE_CLIENT, { description: 'created with the account' })
      return { ...wrap('user', userAttributes(user)), meta: { api_key: key, api_key_attributes: apiKeyAttributes(view) } }
    },
  })

  app.patch('/users/:user', {
    schema: { summary: "Change a user's email, name, password or administrator flag", tags, security, params: UserIdParams, body: UpdateUserBody, response: withErrors({ 200: objectSchema('user', UserAttributes) }) },
    handler: async (request) => wrap('user', userAttributes(await users.update(request.params.user, request.body))),
  })

  app.delete('/users/:user', {
    schema: { summary: 'Delete a user (refused while they own servers; their sockets close with 4010)', tags, security, params: UserIdParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      await users.remove(request.params.user, request.principal!.user.id)
      return reply.code(204).send(null)
    },
  })
}
