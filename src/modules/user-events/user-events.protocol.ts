/**
 * The user events protocol as pure functions: domain events → wire events, and one inbound
 * client frame → the reply to send. No Fastify or socket import, tested directly.
 */
import type { ParsedFrame } from '../realtime/socket-support.js'
import { echoMessage } from './user-events.schemas.js'
import {
  ERROR_CODE,
  EVENT_TYPE,
  type EchoEvent,
  type ErrorCode,
  type ErrorEvent,
  type KeyTypeName,
  type UserLifecycleEvent,
} from './user-events.types.js'

export function lifecycleEvent(
  eventType: UserLifecycleEvent['eventType'],
  user: { uuid: string; email: string },
  at: Date,
  key?: { identifier: string; keyType: number },
): UserLifecycleEvent {
  const event: UserLifecycleEvent = { eventType, user: { uuid: user.uuid, email: user.email }, timestamp: at.toISOString() }
  if (key) event.key = { identifier: key.identifier, type: keyTypeName(key.keyType) }
  return event
}

/** 1 → client, 2 → application (see auth/api-key.format.ts). */
function keyTypeName(keyType: number): KeyTypeName {
  return keyType === 2 ? 'application' : 'client'
}

export function errorEvent(error: ErrorCode, message: string): ErrorEvent {
  return { eventType: EVENT_TYPE.ERROR, error, message }
}

const FRAME_ERRORS: Record<Exclude<ParsedFrame, { ok: true }>['error'], ErrorEvent | null> = {
  too_large: null, // closes the socket instead (1009)
  invalid_json: errorEvent(ERROR_CODE.INVALID_JSON, 'Messages must be JSON objects with a numeric eventType.'),
  binary: errorEvent(ERROR_CODE.BINARY, 'Binary frames are not supported; send JSON text.'),
  forbidden_key: errorEvent(ERROR_CODE.FORBIDDEN_KEY, 'Keys __proto__, constructor and prototype are not allowed.'),
}

/**
 * The reply to one inbound frame (never null except for `too_large`, which the caller handles by
 * closing): the echo for a valid echo event, an ERROR event for anything else.
 */
export function replyTo(frame: ParsedFrame): EchoEvent | ErrorEvent | null {
  if (!frame.ok) return FRAME_ERRORS[frame.error]
  const value = frame.value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return errorEvent(ERROR_CODE.NOT_AN_EVENT, 'Messages must be JSON objects with a numeric eventType.')
  }
  const eventType = (value as { eventType?: unknown }).eventType
  if (typeof eventType !== 'number') {
    return errorEvent(ERROR_CODE.NOT_AN_EVENT, 'Messages must have a numeric eventType.')
  }
  if (eventType !== EVENT_TYPE.ECHO) {
    return errorEvent(ERROR_CODE.UNSUPPORTED_EVENT_TYPE, `eventType ${eventType} cannot be sent by clients; only ${EVENT_TYPE.ECHO} (echo) is accepted.`)
  }
  if (!echoMessage.Check(value)) {
    return errorEvent(ERROR_CODE.INVALID_ECHO, 'An echo event is {"eventType": 10, "message": "<string>"}.')
  }
  return { eventType: EVENT_TYPE.ECHO, message: value.message }
}
