/**
 * Shared assertions and fixtures for the foundation's HTTP tests: the error envelope every
 * failure must use, and creating a user (with an optional first client key) through the API.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { bearer } from '../helper.js'

type TapAssert = Pick<Test, 'equal' | 'match' | 'ok'>

export interface ErrorBody {
  errors: Array<{ code: string; status: string; detail: string; meta?: { source_field?: string; rule?: string } }>
  request_id: string
}

/** Asserts Pterodactyl's error envelope with the request id in body and header; returns the body. */
export function expectError(t: TapAssert, res: LightMyRequestResponse, status: number, what = ''): ErrorBody {
  const label = what ? `${what}: ` : ''
  t.equal(res.statusCode, status, `${label}status ${status}`)
  t.match(res.headers['content-type'], /^application\/json/, `${label}JSON error`)
  const body = res.json<ErrorBody>()
  t.ok(Array.isArray(body.errors) && body.errors.length > 0, `${label}errors[] present`)
  const first = body.errors[0]!
  t.equal(typeof first.code, 'string', `${label}errors[0].code`)
  t.equal(first.status, String(status), `${label}errors[0].status is the status as a string`)
  t.equal(typeof first.detail, 'string', `${label}errors[0].detail`)
  t.ok(body.request_id, `${label}request_id in body`)
  t.equal(res.headers['x-request-id'], body.request_id, `${label}x-request-id header matches`)
  return body
}

export interface CreatedUser {
  id: number
  uuid: string
  email: string
  key?: string
}

/** Creates a user through the Application API; `withKey` also returns a first client key. */
export async function createUser(
  app: FastifyInstance,
  adminKey: string,
  input: { email: string; password?: string; root_admin?: boolean; username?: string; withKey?: boolean },
): Promise<CreatedUser> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/application/users',
    headers: bearer(adminKey),
    payload: {
      email: input.email,
      password: input.password ?? 'a sufficiently long password',
      ...(input.root_admin !== undefined ? { root_admin: input.root_admin } : {}),
      ...(input.username !== undefined ? { username: input.username } : {}),
      ...(input.withKey ? { with_client_key: true } : {}),
    },
  })
  if (res.statusCode !== 201) throw new Error(`create user ${input.email}: ${res.statusCode} ${res.body}`)
  const body = res.json<{ attributes: { id: number; uuid: string; email: string }; meta?: { api_key: string } }>()
  return { ...body.attributes, ...(body.meta ? { key: body.meta.api_key } : {}) }
}

/** Creates an API key on the given family's endpoint and returns the full key. */
export async function createKey(
  app: FastifyInstance,
  key: string,
  family: 'client' | 'application',
  body: { description: string; allowed_ips?: string[] } = { description: 'test key' },
): Promise<{ key: string; identifier: string }> {
  const url = family === 'client' ? '/api/client/account/api-keys' : '/api/application/api-keys'
  const res = await app.inject({ method: 'POST', url, headers: bearer(key), payload: body })
  if (res.statusCode !== 201) throw new Error(`create ${family} key: ${res.statusCode} ${res.body}`)
  const b = res.json<{ attributes: { identifier: string }; meta: { api_key: string } }>()
  return { key: b.meta.api_key, identifier: b.attributes.identifier }
}

/** Logs in through `POST /api/auth/login`; returns the cookies to send and the CSRF token. */
export async function login(
  app: FastifyInstance,
  email: string,
  password: string,
): Promise<{ cookies: Record<string, string>; csrf: string; session: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
  if (res.statusCode !== 200) throw new Error(`login ${email}: ${res.statusCode} ${res.body}`)
  const session = res.cookies.find((c) => c.name === 'wirehub_session')!.value
  const csrf = res.cookies.find((c) => c.name === 'wirehub_csrf')!.value
  return { cookies: { wirehub_session: session, wirehub_csrf: csrf }, csrf, session }
}
