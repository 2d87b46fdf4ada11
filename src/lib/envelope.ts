/**
 * Pterodactyl's response envelopes: `{object, attributes}` for one resource and
 * `{object:"list", data, meta.pagination}` for pages. Both a schema builder (so the response
 * schema filters what leaves the process) and a value builder live here.
 */
import Type, { type TSchema, type TObject } from 'typebox'

export const PaginationQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Page number, from 1' }),
  per_page: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Items per page (1-100)' }),
})

const PaginationMeta = Type.Object({
  pagination: Type.Object({
    total: Type.Integer(),
    count: Type.Integer(),
    per_page: Type.Integer(),
    current_page: Type.Integer(),
    total_pages: Type.Integer(),
  }),
})

export function objectSchema<T extends TObject>(object: string, attributes: T) {
  return Type.Object({ object: Type.Literal(object), attributes })
}

export function listSchema<T extends TObject>(object: string, attributes: T) {
  return Type.Object({
    object: Type.Literal('list'),
    data: Type.Array(objectSchema(object, attributes)),
    meta: PaginationMeta,
  })
}

/** A plain list without pagination (e.g. API keys, which Pterodactyl returns unpaginated). */
export function plainListSchema<T extends TObject>(object: string, attributes: T) {
  return Type.Object({ object: Type.Literal('list'), data: Type.Array(objectSchema(object, attributes)) })
}

/** OpenAPI security requirements of the two API families. */
export const CLIENT_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }]
/** Application keys, or an administrator's browser session (the dashboard's admin pages). */
export const APPLICATION_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }]

export const ErrorSchema = Type.Object({
  errors: Type.Array(
    Type.Object({
      code: Type.String(),
      status: Type.String(),
      detail: Type.String(),
      meta: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  ),
  request_id: Type.String(),
})

export function wrap<O extends string, A>(object: O, attributes: A) {
  return { object, attributes }
}

export function page<O extends string, A>(
  object: O,
  items: readonly A[],
  total: number,
  q: { page: number; per_page: number },
) {
  return {
    object: 'list' as const,
    data: items.map((a) => wrap(object, a)),
    meta: {
      pagination: {
        total,
        count: items.length,
        per_page: q.per_page,
        current_page: q.page,
        total_pages: Math.max(1, Math.ceil(total / q.per_page)),
      },
    },
  }
}

/** Response map every authenticated route shares, so OpenAPI documents the error shape. */
export function withErrors<R extends Record<number, TSchema>>(responses: R) {
  return { ...responses, '4xx': ErrorSchema, '5xx': ErrorSchema }
}
