/**
 * The user events socket's wire protocol (the original one, kept as is): every message is a JSON object with a
 * numeric `eventType`. This file is THE table of event types; the module README's table is
 * checked against `EVENT_TYPE_TABLE` by a test, so the two cannot drift apart.
 *
 * Numbers 1–4 and 10 keep the values of the users server the seed describes (Login, Logout,
 * Activated, Removed, Echo), so its clients work unchanged; 5–9 are reserved (file and bucket
 * events there, which wirehub does not have); wirehub's own additions start at 11.
 */

export const EVENT_TYPE = {
  /** Server → client: a user logged in (browser session via POST /api/auth/login). */
  LOGIN: 1,
  /** Server → client: a user logged out (POST /api/auth/logout). */
  LOGOUT: 2,
  /** Server → client: a user account was created (and is active at once). */
  ACTIVATED: 3,
  /** Server → client: a user account was removed. */
  REMOVED: 4,
  /** Both ways: the client sends `{eventType: 10, message}`; the server answers with the same message. */
  ECHO: 10,
  /** Server → client: a user account was changed (email, username, password or admin flag). */
  UPDATED: 11,
  /** Server → client: an API key was created for a user. */
  API_KEY_CREATED: 12,
  /** Server → client: an API key of a user was revoked. */
  API_KEY_REVOKED: 13,
  /** Server → client: the last client message was refused (see `ERROR_CODE`); the socket stays open. */
  ERROR: 99,
} as const

export type EventTypeName = keyof typeof EVENT_TYPE
export type EventTypeNumber = (typeof EVENT_TYPE)[EventTypeName]

export interface EventTypeDoc {
  eventType: number
  name: EventTypeName
  direction: 'server → client' | 'client → server' | 'both'
  fields: string
  meaning: string
}

const USER_FIELDS = '`user.uuid`, `user.email`, `timestamp`'
const KEY_FIELDS = `${USER_FIELDS}, \`key.identifier\`, \`key.type\``

/** The documented table (README). Order: by number. */
export const EVENT_TYPE_TABLE: readonly EventTypeDoc[] = [
  { eventType: EVENT_TYPE.LOGIN, name: 'LOGIN', direction: 'server → client', fields: USER_FIELDS, meaning: 'A user logged in.' },
  { eventType: EVENT_TYPE.LOGOUT, name: 'LOGOUT', direction: 'server → client', fields: USER_FIELDS, meaning: 'A user logged out.' },
  { eventType: EVENT_TYPE.ACTIVATED, name: 'ACTIVATED', direction: 'server → client', fields: USER_FIELDS, meaning: 'A user account was created (accounts are active on creation).' },
  { eventType: EVENT_TYPE.REMOVED, name: 'REMOVED', direction: 'server → client', fields: USER_FIELDS, meaning: 'A user account was removed.' },
  { eventType: EVENT_TYPE.ECHO, name: 'ECHO', direction: 'both', fields: '`message` (string)', meaning: 'The only message a client may send; answered with the same `message`.' },
  { eventType: EVENT_TYPE.UPDATED, name: 'UPDATED', direction: 'server → client', fields: USER_FIELDS, meaning: 'A user account was changed.' },
  { eventType: EVENT_TYPE.API_KEY_CREATED, name: 'API_KEY_CREATED', direction: 'server → client', fields: KEY_FIELDS, meaning: 'An API key was created for the user.' },
  { eventType: EVENT_TYPE.API_KEY_REVOKED, name: 'API_KEY_REVOKED', direction: 'server → client', fields: KEY_FIELDS, meaning: 'An API key of the user was revoked.' },
  { eventType: EVENT_TYPE.ERROR, name: 'ERROR', direction: 'server → client', fields: '`error` (code), `message` (text)', meaning: 'The last client message was refused; the connection stays open.' },
]

/** `error` values of an ERROR event. */
export const ERROR_CODE = {
  INVALID_JSON: 'invalid_json',
  BINARY: 'binary_not_supported',
  FORBIDDEN_KEY: 'forbidden_key',
  NOT_AN_EVENT: 'not_an_event',
  UNSUPPORTED_EVENT_TYPE: 'unsupported_event_type',
  INVALID_ECHO: 'invalid_echo',
  RATE_LIMITED: 'rate_limited',
} as const

export type ErrorCode = (typeof ERROR_CODE)[keyof typeof ERROR_CODE]

/** `key.type` of the API key events. */
export type KeyTypeName = 'client' | 'application'

// The event shapes themselves are schemas: user-events.schemas.ts.
export type { EchoEvent, ErrorEvent, UserLifecycleEvent } from './user-events.schemas.js'

/** Protocol limits (documented in the README). */
export const LIMITS = {
  /** Largest inbound message in bytes; a larger one closes the socket with 1009. */
  maxInboundBytes: 4096,
  /** Sustained inbound messages per second per socket; excess gets one `rate_limited` error and is dropped. */
  messagesPerSecond: 20,
  /** Messages a socket may send in a burst before the rate applies. */
  burst: 40,
  /** Dropped messages in a row after which the socket is closed with 4029. */
  maxDroppedInARow: 200,
} as const

/** Hub topic and codec shared by every user-event socket. */
export const USER_EVENTS_TOPIC = 'user-events'
export const USER_EVENTS_CODEC = 'user-events'
/** Path on the main HTTP port. */
export const USER_EVENTS_PATH = '/ws/users'

/** The event type table as Markdown (the README embeds it verbatim; a test checks they agree). */
export function eventTypeTableMarkdown(): string {
  const rows = EVENT_TYPE_TABLE.map((r) => `| ${r.eventType} | ${r.name} | ${r.direction} | ${r.fields} | ${r.meaning} |`)
  return ['| eventType | name | direction | fields | meaning |', '|---|---|---|---|---|', ...rows].join('\n')
}
