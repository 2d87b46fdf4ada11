/**
 * The catalogue of every error wirehub returns over HTTP. The `WH_*` codes appear in logs; the
 * root error handler (plugins/infra/error-handler.ts) writes Pterodactyl's exception name for
 * the status (`pterodactylCode`) into the response, because Pterodactyl's client libraries
 * branch on `errors[0].code`.
 */
import createError from '@fastify/error'

export const BadRequest = createError('WH_BAD_REQUEST', '%s', 400)
export const Unauthenticated = createError('WH_UNAUTHENTICATED', 'Unauthenticated.', 401)
export const Forbidden = createError('WH_FORBIDDEN', '%s', 403)
export const NotFound = createError(
  'WH_NOT_FOUND',
  'The requested resource could not be found on the server.',
  404,
)
export const Conflict = createError('WH_CONFLICT', '%s', 409)
export const Unprocessable = createError('WH_VALIDATION', '%s', 422)
export const TooManyRequests = createError('WH_TOO_MANY_REQUESTS', '%s', 429)
export const BadGateway = createError('WH_BAD_GATEWAY', '%s', 502)
export const Unavailable = createError('WH_UNAVAILABLE', '%s', 503)

/** Pterodactyl's messages for using the wrong kind of key, word for word. */
export const WRONG_KEY_FOR_CLIENT_API =
  'You are attempting to use an application API key on an endpoint that requires a client API key.'
export const WRONG_KEY_FOR_APPLICATION_API =
  'You are attempting to use a client API key on an endpoint that requires an application API key.'
export const NOT_AN_ADMIN = 'This action requires an administrator account.'

/** Thrown where a validation problem is found in code rather than by the schema. */
export class FieldError extends Error {
  readonly statusCode = 422
  readonly code = 'WH_VALIDATION'
  constructor(
    readonly field: string,
    message: string,
    readonly rule = 'invalid',
  ) {
    super(message)
  }
}

/** Pterodactyl's exception name for an HTTP status, as its API writes in `errors[].code`. */
export function pterodactylCode(status: number): string {
  switch (status) {
    case 400: return 'BadRequestHttpException'
    case 401: return 'AuthenticationException'
    case 403: return 'AccessDeniedHttpException'
    case 404: return 'NotFoundHttpException'
    case 405: return 'MethodNotAllowedHttpException'
    case 409: return 'ConflictHttpException'
    case 413: return 'PayloadTooLargeHttpException'
    case 415: return 'UnsupportedMediaTypeHttpException'
    case 422: return 'ValidationException'
    case 429: return 'TooManyRequestsHttpException'
    case 503: return 'ServiceUnavailableHttpException'
    case 507: return 'InsufficientStorageHttpException'
    default: return 'HttpException'
  }
}
