/**
 * The channel socket's own replies (to auth, ping, subscribe, unsubscribe; errors; the expiry
 * warning; the collapse notice), defined once: the AsyncAPI document carries these schemas and
 * the messages test checks what a real socket sends against them.
 */
import { Type, type Static } from 'typebox'
import { ERROR_CODES, type ErrorCode } from './channels.protocol.js'

const Iso = Type.String({ format: 'date-time' })
const DeviceIds = Type.Union([Type.Integer(), Type.Array(Type.Integer()), Type.Null()])

/** Codes a refused auth carries: the token's, or a connection limit's taken at the first auth. */
export const AUTH_ERRORS = ['invalid_token', 'token_expired', 'too_many_connections', 'rate_limited'] as const
/** Codes of the error frame sent right before wirehub closes a channel socket. */
export const CLOSING_ERROR_CODES = ['auth_timeout', 'rate_limited', 'too_many_connections', 'revoked', 'internal_error'] as const

export const AuthResponseReply = Type.Object({
  type: Type.Literal('auth_response'),
  success: Type.Boolean(),
  expires_at: Type.Optional(Iso),
  error: Type.Optional(Type.Unsafe<(typeof AUTH_ERRORS)[number]>({ type: 'string', enum: [...AUTH_ERRORS] })),
  message: Type.Optional(Type.String()),
})

export const TokenExpiringReply = Type.Object({ type: Type.Literal('token_expiring'), expires_at: Iso, message: Type.String() })

export const SubscribedReply = Type.Object({
  type: Type.Literal('subscribed'),
  channel: Type.String(),
  device_id: DeviceIds,
  /** The subscription's filters as applied (telemetry and system also name their frequency). */
  filters: Type.Record(Type.String(), Type.Unknown()),
})

export const UnsubscribedReply = Type.Object({
  type: Type.Literal('unsubscribed'),
  channel: Type.String(),
  device_id: DeviceIds,
  /** Subscriptions removed by this message. */
  removed: Type.Integer({ minimum: 0 }),
})

export const ErrorReply = Type.Object({
  type: Type.Literal('error'),
  code: Type.Unsafe<ErrorCode | (typeof CLOSING_ERROR_CODES)[number]>({
    type: 'string',
    enum: [...new Set<string>([...Object.keys(ERROR_CODES), ...CLOSING_ERROR_CODES])],
  }),
  message: Type.String(),
})

export const PongReply = Type.Object({
  type: Type.Literal('pong'),
  /** The ping's `timestamp`, echoed (null when it had none). */
  timestamp: Type.Union([Type.String(), Type.Number(), Type.Null()]),
  server_timestamp: Iso,
})

export const CollapsedReply = Type.Object({ type: Type.Literal('collapsed'), count: Type.Integer({ minimum: 1 }), message: Type.String() })

/** Every reply by its `type`. */
export const CHANNEL_REPLIES = {
  auth_response: AuthResponseReply,
  token_expiring: TokenExpiringReply,
  subscribed: SubscribedReply,
  unsubscribed: UnsubscribedReply,
  error: ErrorReply,
  pong: PongReply,
  collapsed: CollapsedReply,
} as const

export type ChannelReply = { [K in keyof typeof CHANNEL_REPLIES]: Static<(typeof CHANNEL_REPLIES)[K]> }[keyof typeof CHANNEL_REPLIES]
