/**
 * Every message of the user events socket, defined once as TypeBox schemas: the echo event a
 * client may send (the original client's `IEchoEvent`; anything else is answered with an ERROR
 * event) and every event wirehub sends. The protocol functions build their events as these
 * types, the AsyncAPI document carries these schemas, and the SDK's user event types are
 * generated from them (packages/client/src/wire.generated.ts).
 */
import Type, { type Static, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { ERROR_CODE, EVENT_TYPE, LIMITS, type EventTypeName } from './user-events.types.js'

export const EchoMessage = Type.Object(
  {
    eventType: Type.Literal(EVENT_TYPE.ECHO),
    message: Type.String({ maxLength: LIMITS.maxInboundBytes, description: 'Sent back unchanged' }),
  },
  // Other fields are ignored, not refused: the seed's clients may send more than we read.
  { additionalProperties: true },
)

export type EchoMessage = Static<typeof EchoMessage>

export const echoMessage = Compile(EchoMessage)

// ------------------------------------------------------------------ server → client

const UserRef = Type.Object({ uuid: Type.String(), email: Type.String() })
const KeyRef = Type.Object({
  identifier: Type.String({ description: "the key's public identifier" }),
  type: Type.Union([Type.Literal('client'), Type.Literal('application')]),
})
const Timestamp = Type.String({ description: 'ISO 8601 time at which it happened' })

/** Any lifecycle event as sent; `key` only on the API key events. */
export const UserLifecycleEvent = Type.Object({
  eventType: Type.Union([
    Type.Literal(EVENT_TYPE.LOGIN), Type.Literal(EVENT_TYPE.LOGOUT), Type.Literal(EVENT_TYPE.ACTIVATED), Type.Literal(EVENT_TYPE.REMOVED),
    Type.Literal(EVENT_TYPE.UPDATED), Type.Literal(EVENT_TYPE.API_KEY_CREATED), Type.Literal(EVENT_TYPE.API_KEY_REVOKED),
  ]),
  user: UserRef,
  timestamp: Timestamp,
  key: Type.Optional(KeyRef),
})
export type UserLifecycleEvent = Static<typeof UserLifecycleEvent>

export const EchoEvent = Type.Object({ eventType: Type.Literal(EVENT_TYPE.ECHO), message: Type.String({ description: 'the message the client sent' }) })
export type EchoEvent = Static<typeof EchoEvent>

export const ErrorEvent = Type.Object({
  eventType: Type.Literal(EVENT_TYPE.ERROR),
  error: Type.Union([
    Type.Literal(ERROR_CODE.INVALID_JSON), Type.Literal(ERROR_CODE.BINARY), Type.Literal(ERROR_CODE.FORBIDDEN_KEY), Type.Literal(ERROR_CODE.NOT_AN_EVENT),
    Type.Literal(ERROR_CODE.UNSUPPORTED_EVENT_TYPE), Type.Literal(ERROR_CODE.INVALID_ECHO), Type.Literal(ERROR_CODE.RATE_LIMITED),
  ]),
  message: Type.String(),
})
export type ErrorEvent = Static<typeof ErrorEvent>

const userEvent = (eventType: number) => Type.Object({ eventType: Type.Literal(eventType), user: UserRef, timestamp: Timestamp })
const keyEvent = (eventType: number) => Type.Object({ eventType: Type.Literal(eventType), user: UserRef, timestamp: Timestamp, key: KeyRef })

/** The schema of each event type exactly as sent (AsyncAPI: one message per type). */
export const USER_EVENT_SCHEMAS: Record<EventTypeName, TSchema> = {
  LOGIN: userEvent(EVENT_TYPE.LOGIN),
  LOGOUT: userEvent(EVENT_TYPE.LOGOUT),
  ACTIVATED: userEvent(EVENT_TYPE.ACTIVATED),
  REMOVED: userEvent(EVENT_TYPE.REMOVED),
  ECHO: EchoEvent,
  UPDATED: userEvent(EVENT_TYPE.UPDATED),
  API_KEY_CREATED: keyEvent(EVENT_TYPE.API_KEY_CREATED),
  API_KEY_REVOKED: keyEvent(EVENT_TYPE.API_KEY_REVOKED),
  ERROR: ErrorEvent,
}
