// The console messages the servers module defines (TypeBox) describe what the console really
// sends, and the AsyncAPI document carries exactly those schemas: a builder or document that
// drifts from the schema fails here.
import t, { type Test } from 'tap'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'
import type { TSchema } from 'typebox'
import { GENERIC_ERROR, IN, OUT, consoleCodec, consoleLine, encode, errorText, statsMessage, statusMessage } from '../../src/modules/servers/console.codec.js'
import { CONSOLE_INBOUND, CONSOLE_OUTBOUND, ConsoleOutbound, ConsoleStats } from '../../src/modules/servers/console.messages.js'
import { buildAsyncApi } from '../../src/modules/system/asyncapi.js'

const byName = (docs: typeof CONSOLE_OUTBOUND, name: string): TSchema => Object.values(docs).find((m) => m.name === name)!.payload

function conforms(t: Test, schema: TSchema, frame: unknown, what: string) {
  const check = Compile(schema)
  t.ok(check.Check(frame), `${what} matches its schema`, { frame, errors: [...check.Errors(frame)].slice(0, 3) })
}

const stats = { memory_bytes: 1, memory_limit_bytes: 2, cpu_absolute: 0.5, network: { rx_bytes: 3, tx_bytes: 4 }, uptime: 5, state: 'running' as const, disk_bytes: 6 }

t.test('every frame the console builds matches its schema', async (t) => {
  const frames: Array<[string, unknown]> = [
    [OUT.AUTH_SUCCESS, JSON.parse(encode(OUT.AUTH_SUCCESS))],
    [OUT.STATUS, JSON.parse(consoleCodec.encode(statusMessage('starting'), '')!)],
    [OUT.CONSOLE_OUTPUT, JSON.parse(consoleCodec.encode(consoleLine('hello', 7), '')!)],
    [OUT.CONSOLE_OUTPUT, JSON.parse(consoleCodec.encode(consoleLine('a notice'), '')!)],
    [OUT.STATS, JSON.parse(consoleCodec.encode(statsMessage(stats), '')!)],
    [OUT.TOKEN_EXPIRING, JSON.parse(encode(OUT.TOKEN_EXPIRING))],
    [OUT.TOKEN_EXPIRED, JSON.parse(encode(OUT.TOKEN_EXPIRED))],
    [OUT.JWT_ERROR, JSON.parse(encode(OUT.JWT_ERROR, ['jwt: exp claim is invalid']))],
    [OUT.DAEMON_ERROR, JSON.parse(encode(OUT.DAEMON_ERROR, [errorText(GENERIC_ERROR, 'ref')]))],
    [OUT.DAEMON_MESSAGE, JSON.parse(encode(OUT.DAEMON_MESSAGE, ['note']))],
    [OUT.THROTTLED, JSON.parse(encode(OUT.THROTTLED, ['send command']))],
  ]
  for (const [name, frame] of frames) {
    conforms(t, byName(CONSOLE_OUTBOUND, name), frame, name)
    conforms(t, ConsoleOutbound, frame, `${name} (any outbound frame)`)
  }
  t.same(new Set(frames.map(([n]) => n)), new Set(Object.values(OUT)), 'every outbound event is covered')
  // The stats figures travel as JSON text in args[0].
  conforms(t, ConsoleStats, JSON.parse((frames[4]![1] as { args: string[] }).args[0]!), 'stats args[0]')
  t.notOk(Value.Check(byName(CONSOLE_OUTBOUND, OUT.STATUS), { event: 'status', args: ['flying'] }), 'an unknown state is not a status frame')
  t.notOk(Value.Check(ConsoleOutbound, { event: 'stats' }), 'stats without its figures is not a frame')
})

t.test('what the panel and PteroJS send matches the inbound schemas', async (t) => {
  const frames: Array<[string, unknown]> = [
    [IN.AUTH, { event: 'auth', args: ['token'] }],
    [IN.AUTH, { event: 'auth', args: ['token'], since: 12 }],
    [IN.SEND_STATS, { event: 'send stats', args: [null] }],
    [IN.SEND_LOGS, { event: 'send logs', args: [null] }],
    [IN.SEND_LOGS_SINCE, { event: 'send logs since', args: ['12'] }],
    [IN.SET_STATE, { event: 'set state', args: ['restart'] }],
    [IN.SEND_COMMAND, { event: 'send command', args: ['say hi'] }],
  ]
  for (const [name, frame] of frames) conforms(t, byName(CONSOLE_INBOUND, name), frame, name)
  t.same(new Set(frames.map(([n]) => n)), new Set(Object.values(IN)), 'every inbound event is covered')
})

t.test('the AsyncAPI console channel carries the servers module\'s schemas', async (t) => {
  const doc = buildAsyncApi('http://127.0.0.1:8080') as { channels: { console: { messages: Record<string, { name: string; payload: unknown }> } } }
  const plain = (s: unknown) => JSON.parse(JSON.stringify(s)) as unknown
  const messages = doc.channels.console.messages
  for (const [id, m] of Object.entries({ ...CONSOLE_INBOUND, ...CONSOLE_OUTBOUND })) {
    t.equal(messages[id]?.name, m.name, id)
    t.same(messages[id]?.payload, plain(m.payload), `${id} payload`)
  }
  t.equal(Object.keys(messages).length, Object.keys(CONSOLE_INBOUND).length + Object.keys(CONSOLE_OUTBOUND).length)
})
