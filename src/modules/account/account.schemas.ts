/** Schemas of the caller's own account and API keys (Client API). */
import Type from 'typebox'
import type { ApiKeyView } from '../auth/api-keys.service.js'
import { Password } from '../users/users.schemas.js'

export const AccountAttributes = Type.Object({
  id: Type.Integer(),
  uuid: Type.String(),
  admin: Type.Boolean(),
  username: Type.Union([Type.String(), Type.Null()]),
  email: Type.String(),
})

export const ChangePasswordBody = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: 512, description: 'The password in use now' }),
    password: Password,
    password_confirmation: Type.Optional(Type.String({ maxLength: 512, description: 'Must equal `password` when given' })),
  },
  { additionalProperties: false },
)

export const SessionAttributes = Type.Object({
  id: Type.Integer(),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  current: Type.Boolean({ description: 'The session making this request' }),
})

export const SessionParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const ApiKeyAttributes = Type.Object({
  identifier: Type.String(),
  description: Type.String(),
  allowed_ips: Type.Array(Type.String()),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
})

export const CreateApiKeyBody = Type.Object(
  {
    description: Type.String({ minLength: 1, maxLength: 500 }),
    allowed_ips: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50, description: 'IP addresses or CIDR ranges; empty allows any' })),
  },
  { additionalProperties: false },
)

export const CreatedApiKey = Type.Object({
  object: Type.Literal('api_key'),
  attributes: ApiKeyAttributes,
  meta: Type.Object({
    secret_token: Type.String({ description: 'The 32-character secret (Pterodactyl field); shown once' }),
    api_key: Type.String({ description: 'The full key to send as Bearer; shown once' }),
  }),
})

export const IdentifierParams = Type.Object({ identifier: Type.String({ pattern: '^wh[ac]_[A-Za-z0-9]{12}$' }) })

export function apiKeyAttributes(v: ApiKeyView) {
  return {
    identifier: v.identifier,
    description: v.description,
    allowed_ips: v.allowedIps,
    last_used_at: v.lastUsedAt ? v.lastUsedAt.toISOString() : null,
    created_at: v.createdAt.toISOString(),
  }
}
