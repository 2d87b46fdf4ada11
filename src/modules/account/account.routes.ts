/**
 * Client API: the caller's own account — `GET /api/client/account`, the own password change
 * (`PUT /account/password`, Pterodactyl's route and fields) and the browser sessions
 * (`GET /account/sessions`, `DELETE /account/sessions/:id`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CLIENT_SECURITY, objectSchema, plainListSchema, withErrors, wrap } from '../../lib/envelope.js'
import { FieldError, NotFound, Unauthenticated } from '../../lib/errors.js'
import type { UsersService } from '../users/users.service.js'
import { AccountAttributes, ChangePasswordBody, SessionAttributes, SessionParams } from './account.schemas.js'

export const accountRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (app, { users }) => {
  const tags = ['client: account']
  const security = CLIENT_SECURITY

  app.get('/account', {
    schema: { summary: "The signed-in user's account", tags, security, response: withErrors({ 200: objectSchema('user', AccountAttributes) }) },
    handler: async (request) => {
      const u = await app.prisma.user.findUnique({ where: { id: request.principal!.user.id } })
      if (!u) throw new Unauthenticated()
      return wrap('user', { id: u.id, uuid: u.uuid, admin: u.rootAdmin, username: u.username, email: u.email })
    },
  })

  app.put('/account/password', {
    schema: {
      summary: 'Change your own password',
      tags,
      security,
      description: 'Changes the caller\'s password. Every other browser session ends (and the sockets opened from them); the session making the request stays signed in.',
      body: ChangePasswordBody,
      response: withErrors({ 204: Type.Null() }),
    },
    handler: async (request, reply) => {
      const { current_password, password, password_confirmation } = request.body
      if (password_confirmation !== undefined && password_confirmation !== password) {
        throw new FieldError('password_confirmation', 'The password confirmation does not match.', 'confirmed')
      }
      const p = request.principal!
      await users.changeOwnPassword(p.user.id, { current: current_password, next: password, keepSessionId: p.via === 'session' ? p.sessionId : undefined })
      return reply.code(204).send(null)
    },
  })

  app.get('/account/sessions', {
    schema: { summary: 'Your browser sessions', tags, security, response: withErrors({ 200: plainListSchema('session', SessionAttributes) }) },
    handler: async (request) => {
      const p = request.principal!
      const rows = await app.sessions.list(p.user.id)
      return {
        object: 'list' as const,
        data: rows.map((s) =>
          wrap('session', {
            id: s.id,
            ip: s.ip,
            user_agent: s.userAgent,
            created_at: s.createdAt.toISOString(),
            expires_at: s.expiresAt.toISOString(),
            current: p.via === 'session' && p.sessionId === s.id,
          }),
        ),
      }
    },
  })

  app.delete('/account/sessions/:id', {
    schema: { summary: 'End one of your browser sessions', tags, security, params: SessionParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      if (!(await app.sessions.revoke(request.principal!.user.id, request.params.id))) throw new NotFound()
      return reply.code(204).send(null)
    },
  })
}
