/**
 * The channel protocol's edges on a real socket: what is served before auth, every malformed
 * input (an error message, never a crash, the socket still works afterwards), channel-restricted
 * routes, subscribe/unsubscribe acknowledgements, batches, pong, and the Origin guard.
 */
import t from 'tap'
import { Client, authed, channelToken, createDevice, createUser, ingest, iotApp } from './support.js'

t.test('protocol', async (t) => {
  const ta = await iotApp(t, { WS_MAX_BATCH: '3' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)

  t.test('before auth: only auth and ping', async (t) => {
    const c = await Client.open(ta)
    const pong = await c.request({ type: 'ping', timestamp: '2024-01-01T12:00:00Z' }, 'pong')
    t.equal(pong.timestamp, '2024-01-01T12:00:00Z', 'echoes the client timestamp')
    t.ok(Date.parse(pong.server_timestamp) > 0, "adds the server's")
    t.same(await c.request({ type: 'subscribe', channel: 'telemetry' }, 'subscribed'), { type: 'error', code: 'not_authenticated', message: 'Only auth and ping are accepted before a successful auth.' })
    t.match(await c.request({ type: 'batch', messages: [] }, 'x'), { type: 'error', code: 'not_authenticated' })
    const bad = await c.request({ type: 'auth', token: 'nope' }, 'auth_response')
    t.match(bad, { type: 'auth_response', success: false, error: 'invalid_token' })
    t.type(bad.message, 'string')
    t.match(await c.request({ type: 'auth', token: 5 }, 'auth_response'), { type: 'error', code: 'invalid_message', message: /token/ })
    const ok = await c.request({ type: 'auth', token: await channelToken(ta, u.key) }, 'auth_response')
    t.match(ok, { type: 'auth_response', success: true })
    c.close()
  })

  t.test('malformed input: an error each time, and the socket keeps working', async (t) => {
    const c = await authed(ta, u.key)
    const cases: Array<[unknown, string, RegExp?]> = [
      ['{not json', 'invalid_json'],
      ['[]', 'invalid_message'],
      ['"hello"', 'invalid_message'],
      ['null', 'invalid_message'],
      [{ type: 5 }, 'invalid_message'],
      [{ no: 'type' }, 'invalid_message'],
      [{ type: 'launch' }, 'unknown_type', /launch/],
      [{ type: 'toString' }, 'unknown_type'],
      ['{"type":"subscribe","channel":"telemetry","__proto__":{"admin":true}}', 'forbidden_key'],
      ['{"type":"subscribe","channel":"telemetry","filters":{"constructor":{"prototype":{}}}}', 'forbidden_key'],
      // The same key written with a JSON escape is still that key.
      ['{"type":"subscribe","channel":"telemetry","\\u005f_proto__":{"admin":true}}', 'forbidden_key'],
      [{ type: 'subscribe' }, 'invalid_message', /channel/],
      [{ type: 'subscribe', channel: 'telemetry', device_id: 'one' }, 'invalid_message', /device_id/],
      [{ type: 'subscribe', channel: 'telemetry', device_id: [] }, 'invalid_message', /device_id/],
      [{ type: 'subscribe', channel: 'telemetry', filters: { metrics: [1] } }, 'invalid_message', /filters\.metrics/],
      [{ type: 'subscribe', channel: 'telemetry', filters: { colour: 'red' } }, 'invalid_message', /filters\.colour/],
      [{ type: 'subscribe', channel: 'telemetry', extra: true }, 'invalid_message', /extra/],
      [{ type: 'subscribe', channel: 'alerts', filters: { severity: ['fatal'] } }, 'invalid_message', /severity/],
      [{ type: 'subscribe', channel: 'weather' }, 'unknown_channel', /weather/],
      [{ type: 'subscribe', channel: 'telemetry', severity: 'critical' }, 'invalid_filter', /severity/],
      [{ type: 'subscribe', channel: 'telemetry', filters: { frequency: 'often' } }, 'invalid_filter', /frequency/],
      [{ type: 'subscribe', channel: 'telemetry', filters: { frequency: '10ms' } }, 'invalid_filter', /frequency/],
      [{ type: 'subscribe', channel: 'system', filters: { metrics: ['gpu'] } }, 'invalid_filter', /gpu/],
      [{ type: 'subscribe', channel: 'telemetry', device_id: 999999 }, 'device_not_found'],
      [{ type: 'unsubscribe', channel: 5 }, 'invalid_message'],
      [{ type: 'batch', messages: 'x' }, 'invalid_message'],
      [{ type: 'ping', timestamp: { nested: true } }, 'invalid_message'],
    ]
    for (const [msg, code, message] of cases) {
      const r = await c.request(msg as Record<string, unknown>, 'never')
      t.match(r, { type: 'error', code, ...(message ? { message } : {}) }, `${typeof msg === 'string' ? msg : JSON.stringify(msg)} → ${code}`)
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    t.match(await c.nextOf('error'), { code: 'binary_not_supported' })
    t.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was polluted')
    // Still fully usable.
    t.equal((await c.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')).type, 'subscribed')
    await ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: 1 } } })
    t.equal((await c.nextOf('telemetry_update')).device_id, dev.id)
    c.close()
  })

  t.test('channel routes serve their channel only', async (t) => {
    const c = await authed(ta, u.key, '/ws/alerts')
    t.same(await c.request({ type: 'subscribe', channel: 'telemetry' }, 'subscribed'), {
      type: 'error',
      code: 'channel_not_allowed',
      message: 'This socket serves the alerts channel only; use /ws for telemetry.',
    })
    t.equal((await c.request({ type: 'subscribe', channel: 'alerts' }, 'subscribed')).channel, 'alerts')
    c.close()
  })

  t.test('unsubscribe, batches in order, and batch limits', async (t) => {
    const c = await authed(ta, u.key)
    c.send({
      type: 'batch',
      messages: [
        { type: 'ping', timestamp: 'a' },
        { type: 'subscribe', channel: 'telemetry', device_id: dev.id },
        { type: 'ping', timestamp: 'b' },
      ],
    })
    t.match(await c.next(), { type: 'pong', timestamp: 'a' })
    t.match(await c.next(), { type: 'subscribed', channel: 'telemetry', device_id: dev.id })
    t.match(await c.next(), { type: 'pong', timestamp: 'b' })
    const four = Array.from({ length: 4 }, () => ({ type: 'ping' }))
    t.match(await c.request({ type: 'batch', messages: four }, 'x'), { type: 'error', code: 'batch_too_large', message: /at most 3/ })
    t.match(await c.request({ type: 'batch', messages: [{ type: 'batch', messages: [] }] }, 'x'), { type: 'error', code: 'nested_batch' })
    t.same(await c.quiet(), [], 'nothing from the refused batches')

    const un = await c.request({ type: 'unsubscribe', channel: 'telemetry', device_id: dev.id }, 'unsubscribed')
    t.same(un, { type: 'unsubscribed', channel: 'telemetry', device_id: dev.id, removed: 1 })
    await ingest(ta, dev.id, dev.deviceKey, { telemetry: { t: { value: 1 } } })
    t.same(await c.quiet(), [], 'nothing after unsubscribe')
    t.equal(ta.app.hub.subscriberCount(`telemetry:${dev.id}`), 0, 'no hub entry left behind')
    c.close()
  })

  t.test('Origin guard: a foreign origin is refused before the upgrade', async (t) => {
    const c = new Client(new (await import('ws')).default(`${ta.url.replace('http', 'ws')}/ws`, { headers: { origin: 'https://evil.example' } }))
    await t.rejects(c.opened, /403/)
  })
})
