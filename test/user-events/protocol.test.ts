/**
 * The protocol as pure functions (inbound frame → reply, domain event → wire event), and the
 * README's event type table checked against the one in user-events.types.ts.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseFrame } from '../../src/modules/realtime/socket-support.js'
import { lifecycleEvent, replyTo } from '../../src/modules/user-events/user-events.protocol.js'
import { EVENT_TYPE, EVENT_TYPE_TABLE, LIMITS, eventTypeTableMarkdown } from '../../src/modules/user-events/user-events.types.js'

const frame = (text: string) => parseFrame(Buffer.from(text), false, LIMITS.maxInboundBytes)

t.test('replies', async (t) => {
  t.same(replyTo(frame('{"eventType":10,"message":"Hello world?"}')), { eventType: 10, message: 'Hello world?' })
  t.same(replyTo(frame('{"eventType":10,"message":"","extra":1}')), { eventType: 10, message: '' }, 'unknown fields are ignored')
  t.match(replyTo(frame('{"eventType":2}')), { eventType: 99, error: 'unsupported_event_type' })
  t.match(replyTo(frame('{"eventType":10.5,"message":"x"}')), { eventType: 99, error: 'unsupported_event_type' })
  t.match(replyTo(frame('null')), { eventType: 99, error: 'not_an_event' })
  t.match(replyTo(frame('{"message":"x"}')), { eventType: 99, error: 'not_an_event' })
  t.match(replyTo(frame('{"eventType":10,"message":1}')), { eventType: 99, error: 'invalid_echo' })
  t.match(replyTo(frame('{"constructor":{}}')), { eventType: 99, error: 'forbidden_key' })
  t.equal(replyTo(parseFrame(Buffer.alloc(LIMITS.maxInboundBytes + 1, 32), false, LIMITS.maxInboundBytes)), null, 'too large: the caller closes')
})

t.test('lifecycle events carry uuid, email and an ISO timestamp', async (t) => {
  const at = new Date('2026-01-02T03:04:05.678Z')
  const user = { id: 7, uuid: '8d1e4c52-0000-4000-8000-000000000001', email: 'a@b.test' }
  t.same(lifecycleEvent(EVENT_TYPE.LOGIN, user, at), { eventType: 1, user: { uuid: user.uuid, email: 'a@b.test' }, timestamp: '2026-01-02T03:04:05.678Z' })
  t.same(lifecycleEvent(EVENT_TYPE.API_KEY_REVOKED, user, at, { identifier: 'whc_abc', keyType: 1 }).key, { identifier: 'whc_abc', type: 'client' })
  t.same(lifecycleEvent(EVENT_TYPE.API_KEY_CREATED, user, at, { identifier: 'wha_abc', keyType: 2 }).key, { identifier: 'wha_abc', type: 'application' })
})

t.test('the event type table: unique numbers, the seed numbers kept, documented in the README', async (t) => {
  const numbers = EVENT_TYPE_TABLE.map((r) => r.eventType)
  t.equal(new Set(numbers).size, numbers.length)
  t.same(Object.values(EVENT_TYPE).sort((a, b) => a - b), numbers, 'every constant is in the table')
  t.match(EVENT_TYPE, { LOGIN: 1, LOGOUT: 2, ACTIVATED: 3, REMOVED: 4, ECHO: 10 }, "the seed's users server numbers")
  const readme = readFileSync(new URL('../../src/modules/user-events/README.md', import.meta.url), 'utf8')
  t.ok(readme.includes(eventTypeTableMarkdown()), 'README embeds eventTypeTableMarkdown() verbatim')
})
