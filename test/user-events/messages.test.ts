// The user events the module defines (TypeBox) describe what the socket really sends, and the
// AsyncAPI document carries exactly those schemas: a builder or document that drifts fails here.
import t, { type Test } from 'tap'
import { Compile } from 'typebox/compile'
import type { TSchema } from 'typebox'
import { lifecycleEvent, replyTo } from '../../src/modules/user-events/user-events.protocol.js'
import { EchoEvent, ErrorEvent, USER_EVENT_SCHEMAS, UserLifecycleEvent } from '../../src/modules/user-events/user-events.schemas.js'
import { ERROR_CODE, EVENT_TYPE, EVENT_TYPE_TABLE, type EventTypeName } from '../../src/modules/user-events/user-events.types.js'
import { buildAsyncApi } from '../../src/modules/system/asyncapi.js'

function conforms(t: Test, schema: TSchema, frame: unknown, what: string) {
  const check = Compile(schema)
  t.ok(check.Check(frame), `${what} matches its schema`, { frame, errors: [...check.Errors(frame)].slice(0, 3) })
}

const wire = (e: unknown) => JSON.parse(JSON.stringify(e)) as unknown
const user = { uuid: '0b7c1d8e-0000-4000-8000-000000000001', email: 'a@example.com' }
const at = new Date('2026-01-01T00:00:00Z')

t.test('every event the module builds matches its schema', async (t) => {
  const key = { identifier: 'whc_abc', keyType: 1 }
  const lifecycle: Array<[EventTypeName, unknown]> = [
    ['LOGIN', lifecycleEvent(EVENT_TYPE.LOGIN, user, at)],
    ['LOGOUT', lifecycleEvent(EVENT_TYPE.LOGOUT, user, at)],
    ['ACTIVATED', lifecycleEvent(EVENT_TYPE.ACTIVATED, user, at)],
    ['REMOVED', lifecycleEvent(EVENT_TYPE.REMOVED, user, at)],
    ['UPDATED', lifecycleEvent(EVENT_TYPE.UPDATED, user, at)],
    ['API_KEY_CREATED', lifecycleEvent(EVENT_TYPE.API_KEY_CREATED, user, at, key)],
    ['API_KEY_REVOKED', lifecycleEvent(EVENT_TYPE.API_KEY_REVOKED, user, at, { identifier: 'wha_x', keyType: 2 })],
  ]
  for (const [name, event] of lifecycle) {
    conforms(t, USER_EVENT_SCHEMAS[name], wire(event), name)
    conforms(t, UserLifecycleEvent, wire(event), `${name} (any lifecycle event)`)
  }
  const echo = replyTo({ ok: true, value: { eventType: EVENT_TYPE.ECHO, message: 'hi' } })
  conforms(t, USER_EVENT_SCHEMAS.ECHO, wire(echo), 'ECHO')
  conforms(t, EchoEvent, wire(echo), 'ECHO')
  const errors = [
    replyTo({ ok: false, error: 'invalid_json' }),
    replyTo({ ok: false, error: 'binary' }),
    replyTo({ ok: false, error: 'forbidden_key' }),
    replyTo({ ok: true, value: [] }),
    replyTo({ ok: true, value: { eventType: 1 } }),
    replyTo({ ok: true, value: { eventType: EVENT_TYPE.ECHO } }),
  ]
  for (const e of errors) conforms(t, ErrorEvent, wire(e), `ERROR ${(e as { error: string }).error}`)
  t.same(new Set([...lifecycle.map(([n]) => n), 'ECHO', 'ERROR']), new Set(EVENT_TYPE_TABLE.map((r) => r.name)), 'every event type is covered')
  t.same(new Set(Object.keys(USER_EVENT_SCHEMAS)), new Set(Object.keys(EVENT_TYPE)), 'one schema per event type')
  t.ok(Object.values(ERROR_CODE).every((code) => Compile(ErrorEvent).Check({ eventType: 99, error: code, message: '' })), 'every error code is in the schema')
})

t.test('the AsyncAPI user events channel carries the module\'s schemas', async (t) => {
  const doc = buildAsyncApi('http://127.0.0.1:8080') as { channels: { userEvents: { messages: Record<string, { name: string; payload: unknown }> } } }
  for (const row of EVENT_TYPE_TABLE) t.same(doc.channels.userEvents.messages[row.name.toLowerCase()]?.payload, wire(USER_EVENT_SCHEMAS[row.name]), row.name)
})
