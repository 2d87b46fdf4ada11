/** Request and response schemas of the users resource (Application API and account). */
import Type from 'typebox'
import { PaginationQuery } from '../../lib/envelope.js'

export const UserAttributes = Type.Object({
  id: Type.Integer(),
  uuid: Type.String({ format: 'uuid' }),
  username: Type.Union([Type.String(), Type.Null()]),
  email: Type.String(),
  root_admin: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})

export const Email = Type.String({ format: 'email', maxLength: 191, description: 'Unique email address' })
export const Username = Type.String({ pattern: '^[a-zA-Z0-9_.-]{1,64}$', description: 'Unique user name (letters, digits, _ . -)' })
export const Password = Type.String({ minLength: 8, maxLength: 512, description: 'At least 8 characters' })

export const CreateUserBody = Type.Object(
  {
    email: Email,
    username: Type.Optional(Username),
    password: Type.Optional(Password),
    root_admin: Type.Optional(Type.Boolean({ default: false })),
    with_client_key: Type.Optional(Type.Boolean({ description: 'Also create a first client API key, returned once in meta.api_key' })),
  },
  { additionalProperties: false },
)

export const UpdateUserBody = Type.Object(
  {
    email: Type.Optional(Email),
    username: Type.Optional(Type.Union([Username, Type.Null()])),
    password: Type.Optional(Password),
    root_admin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const ListUsersQuery = Type.Intersect([
  PaginationQuery,
  Type.Object({
    'filter[email]': Type.Optional(Type.String({ maxLength: 191 })),
    'filter[uuid]': Type.Optional(Type.String({ maxLength: 36 })),
    'filter[username]': Type.Optional(Type.String({ maxLength: 64 })),
    sort: Type.Optional(Type.Union(['id', '-id', 'email', '-email', 'created_at', '-created_at'].map((s) => Type.Literal(s)))),
  }),
])

export const UserIdParams = Type.Object({
  user: Type.String({ pattern: '^([0-9]{1,10}|[0-9a-fA-F-]{36})$', description: 'Numeric id or uuid' }),
})
