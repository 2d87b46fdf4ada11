/** The AsyncAPI document served at /docs/asyncapi.json is valid AsyncAPI 3 (official parser). */
import t from 'tap'
import { Parser } from '@asyncapi/parser'
import { build } from '../helper.js'
import { EVENT_TYPE_TABLE } from '../../src/modules/user-events/user-events.types.js'

t.test('the AsyncAPI document parses without errors and names every socket', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/docs/asyncapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json() as { channels: Record<string, { address: string }> }
  t.same(Object.values(doc.channels).map((c) => c.address).sort(), ['/api/servers/{uuid}/ws', '/ws', '/ws/users'])
  const { document, diagnostics } = await new Parser().parse(res.body)
  const errors = diagnostics.filter((d) => d.severity === 0)
  t.same(errors.map((e) => `${e.path.join('.')}: ${e.message}`), [], 'no errors')
  t.ok(document, 'parsed')
  // 16 console events (Wings' 15 and `send logs since`), 20 channel messages (command_update, telemetry_history, telemetry_snapshot, alert_status_update and the collapse notice included), one per user event type.
  t.equal(document!.messages().length, 36 + EVENT_TYPE_TABLE.length, 'every message is described')
})
