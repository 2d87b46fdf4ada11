/**
 * Browser login: `POST /api/auth/login` sets the http-only session cookie and the CSRF cookie;
 * `POST /api/auth/logout` ends the session. Failed logins lock out per account and per IP
 * (429 with Retry-After), on top of the general rate limit.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { objectSchema, withErrors, wrap } from '../../lib/envelope.js'
import { randomToken } from './password.js'
import { CSRF_COOKIE, CSRF_REFUSED, SESSION_COOKIE } from './cookies.js'
import { Forbidden } from '../../lib/errors.js'
import { AccountAttributes } from '../account/account.schemas.js'

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 191 }),
    password: Type.String({ minLength: 1, maxLength: 512 }),
  },
  { additionalProperties: false },
)

const LoginResponse = Type.Intersect([
  objectSchema('user', AccountAttributes),
  Type.Object({ meta: Type.Object({ csrf_token: Type.String() }) }),
])

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const cfg = app.config
  const secure = cfg.COOKIE_SECURE ?? cfg.publicUrl.startsWith('https://')
  const tags = ['auth']

  app.post('/login', {
    schema: { summary: 'Sign in with email and password; sets the session and CSRF cookies', tags, body: LoginBody, response: withErrors({ 200: LoginResponse }) },
    handler: async (request, reply) => {
      const { token, user } = await app.sessions.login(request.body.email, request.body.password, request.ip, request.headers['user-agent'])
      const csrf = randomToken(32)
      const maxAge = cfg.SESSION_TTL
      reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge })
      reply.setCookie(CSRF_COOKIE, csrf, { httpOnly: false, sameSite: 'strict', secure, path: '/', maxAge })
      return {
        ...wrap('user', { id: user.id, uuid: user.uuid, admin: user.rootAdmin, username: null, email: user.email }),
        meta: { csrf_token: csrf },
      }
    },
  })

  app.post('/logout', {
    schema: { summary: 'End the browser session (send X-CSRF-Token with a live session)', tags, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      // A live session is ended only with its CSRF token, like any other write made with it:
      // otherwise any site could log a user out (SameSite=Lax lets top-level POSTs through).
      if (request.authFailure === 'csrf') throw new Forbidden(CSRF_REFUSED)
      const token = request.cookies[SESSION_COOKIE]
      if (token) await app.sessions.logout(token)
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      reply.clearCookie(CSRF_COOKIE, { path: '/' })
      return reply.code(204).send(null)
    },
  })
}
