/**
 * The SDK's connection logic against scripted fakes (socket, fetch, clock): reconnect with the
 * scheduled full-jitter delay, no reconnect after terminal codes or refused credentials,
 * resubscribe after a reconnect, single-flight token refresh on the same socket, exactly-once
 * alerts across a reconnect, ping round trips, console frames, user events.
 * The same behaviours are exercised against a real wirehub in the other files of this folder.
 */
import t, { type Test } from 'tap'
import { CLOSE, WirehubClient, type AlertMessage } from '../../packages/client/src/index.js'
import { FakeSocket, ManualClock, fakeFetch, flush, settle } from './fakes.js'

const BASE = 'http://wirehub.test'

function rig(t: Test, routes: Parameters<typeof fakeFetch>[0] = {}) {
  FakeSocket.all = []
  const clock = new ManualClock()
  let tokenNo = 0
  const f = fakeFetch({
    '/api/client/websocket': () => ({ body: { data: { token: `chan-${++tokenNo}`, socket: 'ws://wirehub.test/ws' } } }),
    '/api/client/servers/abcd1234/websocket': () => ({ body: { data: { token: `con-${++tokenNo}`, socket: 'ws://wirehub.test/api/servers/u-1/ws' } } }),
    '/api/client/alerts': () => ({ body: { object: 'list', data: [], meta: { pagination: { total_pages: 1 } } } }),
    ...routes,
  })
  const client = new WirehubClient({
    baseUrl: BASE,
    apiKey: 'whc_test',
    WebSocket: FakeSocket,
    fetch: f.fetch,
    clock,
    random: () => 0.5,
    backoff: { baseMs: 1000, capMs: 8000 },
  })
  t.teardown(() => client.close())
  const last = () => FakeSocket.all[FakeSocket.all.length - 1]!
  return { clock, f, client, last }
}

type Rig = ReturnType<typeof rig>

async function openChannels(r: Rig) {
  await settle(() => FakeSocket.all.length === 1, 'socket created')
  const ws = r.last()
  ws.open()
  return ws
}

t.test('channels: auth, subscriptions sent once ready, resubscribed after a reconnect', async (t) => {
  const r = rig(t)
  const ch = r.client.channels()
  t.equal(r.client.channels(), ch, 'one channels socket per client')
  const opens: boolean[] = []
  ch.on('open', (e) => opens.push(e.reconnected))
  const unsubscribeTemp = ch.subscribe('telemetry', { device_id: 1, metrics: ['temperature'] })
  ch.subscribe('system', { frequency: '30s' })
  const ws1 = await openChannels(r)
  t.same(ws1.sent, [{ type: 'auth', token: 'chan-1' }], 'only auth before the server answered')
  t.equal(r.f.calls[0]!.init?.headers && (r.f.calls[0]!.init.headers as Record<string, string>).authorization, 'Bearer whc_test')
  ws1.push({ type: 'auth_response', success: true })
  t.equal(ch.state, 'ready')
  t.same(ws1.sent.slice(1), [
    { type: 'subscribe', channel: 'telemetry', device_id: 1, filters: { device_id: 1, metrics: ['temperature'] } },
    { type: 'subscribe', channel: 'system', filters: { frequency: '30s' } },
  ])

  const closes: Array<{ code: number; willReconnect: boolean; delayMs?: number }> = []
  ch.on('close', (e) => closes.push(e))
  ws1.serverClose(CLOSE.RESTART.code, 'service restart')
  t.equal(ch.state, 'reconnecting')
  t.same(closes, [{ code: 1012, reason: 'service restart', willReconnect: true, delayMs: 500, meaning: CLOSE.RESTART.meaning }], 'delay = 0.5 × base')
  r.clock.advance(499)
  await flush()
  t.equal(FakeSocket.all.length, 1, 'no reconnect before the delay')
  r.clock.advance(1)
  await settle(() => FakeSocket.all.length === 2, 'reconnected')
  const ws2 = r.last()
  ws2.open()
  t.same(ws2.sent, [{ type: 'auth', token: 'chan-2' }], 'a fresh token for the new socket')
  ws2.push({ type: 'auth_response', success: true })
  t.same(ws2.sent.slice(1).map((f) => f.channel), ['telemetry', 'system'], 'everything resubscribed')
  t.same(opens, [false, true])
  t.equal(ch.stats.reconnects, 1)

  // unsubscribe sends the seed's shape and keeps others on the channel
  ch.subscribe('telemetry', { device_id: 2 })
  unsubscribeTemp()
  unsubscribeTemp()
  t.same(ws2.sent.slice(3), [
    { type: 'subscribe', channel: 'telemetry', device_id: 2, filters: { device_id: 2 } },
    { type: 'unsubscribe', channel: 'telemetry', device_id: 1 },
    { type: 'subscribe', channel: 'telemetry', device_id: 2, filters: { device_id: 2 } },
  ], 'unsubscribe once; the other telemetry subscription is put back')

  // successive failures widen the window: attempt 0, 1, 2 → 500, 1000, 2000 (× random 0.5)
  ws2.serverClose(1006)
  r.clock.advance(500)
  await settle(() => FakeSocket.all.length === 3, 'third socket')
  r.last().serverClose(1006)
  t.equal(closes[closes.length - 1]!.delayMs, 1000, 'attempt 1 (no auth in between)')
  r.clock.advance(1000)
  await settle(() => FakeSocket.all.length === 4, 'fourth socket')
  r.last().serverClose(1011)
  t.equal(closes[closes.length - 1]!.delayMs, 2000, 'attempt 2')
  r.clock.advance(2000)
  await settle(() => FakeSocket.all.length === 5, 'fifth socket')
  r.last().open()
  r.last().push({ type: 'auth_response', success: true })
  r.last().serverClose(1006)
  t.equal(closes[closes.length - 1]!.delayMs, 500, 'back to attempt 0 after a successful auth')
})

t.test('terminal close codes end the socket: no reconnect', async (t) => {
  const terminal = Object.values(CLOSE).filter((c) => !c.reconnect)
  t.ok(terminal.length >= 5)
  for (const c of terminal) {
    const r = rig(t)
    const ch = r.client.channels()
    const ws = await openChannels(r)
    ws.push({ type: 'auth_response', success: true })
    const closes: Array<{ willReconnect: boolean }> = []
    ch.on('close', (e) => closes.push(e))
    ws.serverClose(c.code, c.reason)
    r.clock.advance(60_000)
    await flush()
    t.equal(ch.state, 'closed', `${c.code} closes for good`)
    t.same(closes.map((e) => e.willReconnect), [false])
    t.equal(FakeSocket.all.length, 1, `${c.code}: no new socket`)
    t.equal(r.clock.timers.size, 0, `${c.code}: nothing scheduled`)
    r.client.close()
  }
})

t.test('credentials: 401 is final, 503 is retried with backoff', async (t) => {
  let status = 503
  const r = rig(t, { '/api/client/websocket': () => ({ status, body: { errors: [{ code: 'X', detail: 'nope' }] } }) })
  const ch = r.client.channels()
  const errors: Error[] = []
  ch.on('error', (e) => errors.push(e))
  await settle(() => ch.state === 'reconnecting', 'retry scheduled after 503')
  t.same(r.clock.pendingDelays(), [500])
  status = 401
  r.clock.advance(500)
  await settle(() => ch.state === 'closed', 'gave up after 401')
  t.equal(r.f.count('/api/client/websocket'), 2)
  t.equal(FakeSocket.all.length, 0, 'never opened a socket')
  t.match(errors.map((e) => e.message), ['nope', 'nope'])
})

t.test('channels: several token notices share ONE refresh on the same socket', async (t) => {
  let release!: () => void
  let gate: Promise<void> | null = null
  let n = 0
  const r = rig(t, {
    '/api/client/websocket': async () => {
      n++
      if (gate) await gate
      return { body: { data: { token: `chan-${n}`, socket: 'ws://wirehub.test/ws' } } }
    },
  })
  const ch = r.client.channels()
  const ws = await openChannels(r)
  ws.push({ type: 'auth_response', success: true })
  t.equal(r.f.count('/api/client/websocket'), 1)
  gate = new Promise((res) => (release = res))
  ws.push({ type: 'token_expiring' })
  ws.push({ type: 'token_expiring' })
  ws.push({ type: 'error', code: 'token_expired', message: 'expired' })
  await flush()
  t.equal(r.f.count('/api/client/websocket'), 2, 'one credential fetch for three notices')
  release()
  await settle(() => ws.sent.length === 2, 're-auth sent')
  t.same(ws.sent[1], { type: 'auth', token: 'chan-2' }, 're-auth on the same socket')
  ws.push({ type: 'token_expiring' }) // still waiting for the ack: joins the refresh
  await flush()
  t.equal(r.f.count('/api/client/websocket'), 2)
  ws.push({ type: 'auth_response', success: true })
  await flush()
  t.equal(ch.stats.tokenRefreshes, 1)
  t.equal(FakeSocket.all.length, 1, 'never reconnected')
  t.equal(ch.state, 'ready')
  // a later notice (for the new token) starts a new refresh
  ws.push({ type: 'token_expiring' })
  await settle(() => ws.sent.length === 3, 'second re-auth')
  ws.push({ type: 'auth_response', success: true })
  await flush()
  t.equal(ch.stats.tokenRefreshes, 2)
  t.equal(r.f.count('/api/client/websocket'), 3)
})

t.test('console: frames, helpers, parsed stats, single-flight refresh', async (t) => {
  const r = rig(t)
  const con = r.client.console('abcd1234')
  t.equal(r.client.console('abcd1234'), con, 'one socket per server')
  const lines: string[] = []
  const statuses: string[] = []
  const stats: Array<{ memory_bytes: number }> = []
  con.onConsole((l) => lines.push(l))
  con.onStatus((s) => statuses.push(s))
  con.onStats((s) => stats.push(s))
  t.equal(con.sendCommand('list'), false, 'not connected yet')
  await settle(() => FakeSocket.all.length === 1, 'socket')
  const ws = r.last()
  t.equal(ws.url, 'ws://wirehub.test/api/servers/u-1/ws', 'the socket URL from the credential endpoint')
  ws.open()
  t.same(ws.sent, [{ event: 'auth', args: ['con-1'] }])
  ws.push({ event: 'auth success' })
  ws.push({ event: 'status', args: ['running'] })
  ws.push({ event: 'console output', args: ['[12:00:00] Done (1.2s)!'] })
  ws.push({ event: 'stats', args: ['{"memory_bytes":5,"memory_limit_bytes":10,"cpu_absolute":1.5,"network":{"rx_bytes":1,"tx_bytes":2},"state":"running","disk_bytes":3}'] })
  t.same(lines, ['[12:00:00] Done (1.2s)!'])
  t.same(statuses, ['running'])
  t.equal(stats[0]!.memory_bytes, 5)
  t.ok(con.sendCommand('say hi'))
  t.ok(con.setState('restart'))
  t.ok(con.requestLogs())
  t.same(ws.sent.slice(1), [
    { event: 'send command', args: ['say hi'] },
    { event: 'set state', args: ['restart'] },
    { event: 'send logs', args: [null] },
  ])
  ws.push({ event: 'token expiring' })
  ws.push({ event: 'token expiring' })
  ws.push({ event: 'token expired' })
  ws.push({ event: 'jwt error', args: ['jwt: exp claim is invalid'] })
  await settle(() => ws.sent.length === 5, 're-auth')
  await flush()
  t.equal(r.f.count('/api/client/servers/abcd1234/websocket'), 2, 'one refresh for four notices')
  t.same(ws.sent[4], { event: 'auth', args: ['con-2'] })
  ws.push({ event: 'auth success' })
  await flush()
  t.equal(con.stats.tokenRefreshes, 1)
  t.equal(FakeSocket.all.length, 1)
})

t.test('console: a refused first auth ends the socket instead of looping', async (t) => {
  const r = rig(t)
  const con = r.client.console('abcd1234')
  await settle(() => FakeSocket.all.length === 1, 'socket')
  r.last().open()
  r.last().push({ event: 'jwt error', args: ['invalid token'] })
  t.equal(con.state, 'closed')
  r.clock.advance(60_000)
  await flush()
  t.equal(FakeSocket.all.length, 1)
})

function alert(id: number, device_id = 1): AlertMessage {
  return { type: 'alert', channel: 'alerts', alert_id: id, device_id, severity: 'critical', title: `a${id}`, message: 'm', timestamp: '2024-01-01T00:00:00Z' }
}

t.test('alerts: exactly once across a reconnect (live + recovered through since=)', async (t) => {
  const stored: AlertMessage[] = [alert(1), alert(2)]
  let gate: Promise<void> | null = null
  const r = rig(t, {
    '/api/client/alerts': async (url) => {
      if (gate) await gate
      const since = Number(url.searchParams.get('since') ?? 0)
      const data = stored.filter((a) => a.alert_id > since).map(({ type: _t, channel: _c, alert_id, ...rest }) => ({ object: 'alert', attributes: { id: alert_id, ...rest } }))
      return { body: { object: 'list', data, meta: { pagination: { total: data.length, total_pages: 1 } } } }
    },
  })
  const ch = r.client.channels()
  const got: AlertMessage[] = []
  ch.onAlert((a) => got.push(a))
  ch.subscribe('alerts', { device_id: 1 })
  const ws1 = await openChannels(r)
  ws1.push({ type: 'auth_response', success: true })
  await settle(() => ch.alertCursor === 2, 'cursor seeded from stored history')
  t.same(got, [], 'history from before the start is not replayed')
  stored.push(alert(3))
  ws1.push(alert(3))
  t.same(got.map((a) => a.alert_id), [3])

  ws1.serverClose(CLOSE.SLOW_CONSUMER.code)
  stored.push(alert(4), alert(5, 2), alert(6)) // raised while disconnected; 5 is another device
  let release!: () => void
  gate = new Promise((res) => (release = res))
  r.clock.advance(500)
  await settle(() => FakeSocket.all.length === 2, 'reconnected')
  const ws2 = r.last()
  ws2.open()
  ws2.push({ type: 'auth_response', success: true })
  t.same(ws2.sent[1], { type: 'subscribe', channel: 'alerts', device_id: 1, filters: { device_id: 1 } })
  // a live alert arrives while the catch-up request is in flight, and one the catch-up also returns
  stored.push(alert(7))
  ws2.push(alert(7))
  ws2.push(alert(6))
  t.same(got.map((a) => a.alert_id), [3], 'held back during catch-up')
  release()
  await settle(() => got.length === 4, 'catch-up merged')
  t.same(got.map((a) => a.alert_id), [3, 4, 6, 7], 'each once, in id order, filtered by device')
  t.same(got.map((a) => !!a.recovered), [false, true, false, false], '4 came from REST; 6 and 7 were live')
  const since = r.f.calls.filter((c) => c.url.pathname === '/api/client/alerts').map((c) => c.url.searchParams.get('since'))
  t.same(since, ['0', '2'], 'seeded with since=0, caught up from the cursor (minus look-back, floored at the start)')
  ws2.push(alert(7))
  t.equal(got.length, 4, 'a duplicate push is dropped')
})

t.test('ping resolves to the round trip time', async (t) => {
  const r = rig(t)
  const ch = r.client.channels()
  await t.rejects(ch.ping(), /not connected/)
  const ws = await openChannels(r)
  ws.push({ type: 'auth_response', success: true })
  const p = ch.ping()
  const sent = ws.sent[ws.sent.length - 1]
  t.equal(sent.type, 'ping')
  r.clock.advance(42)
  ws.push({ type: 'pong', timestamp: sent.timestamp, server_timestamp: new Date().toISOString() })
  t.equal(await p, 42)
  const lost = ch.ping(1000)
  r.clock.advance(1000)
  await t.rejects(lost, /timed out/)
})

t.test('user events: origin passed to ws, typed handlers, echo', async (t) => {
  const r = rig(t)
  const ue = r.client.userEvents('/ws/users', { origin: 'http://trusted.example' })
  await settle(() => FakeSocket.all.length === 1, 'socket')
  const ws = r.last()
  t.equal(ws.url, 'ws://wirehub.test/ws/users')
  t.same(ws.options, { origin: 'http://trusted.example' })
  ws.open()
  t.equal(ue.state, 'ready', 'no auth step')
  const logins: string[] = []
  ue.on(1, (e) => logins.push(e.user.email))
  ws.push({ eventType: 1, user: { uuid: 'u', email: 'a@b.c' }, timestamp: 'now' })
  t.same(logins, ['a@b.c'])
  const echoed = ue.echo('Hello world?')
  t.same(ws.sent, [{ eventType: 10, message: 'Hello world?' }])
  ws.push({ eventType: 10, message: 'Hello world?' })
  t.equal(await echoed, 'Hello world?')
  ws.serverClose(CLOSE.TOO_BIG.code)
  t.equal(ue.state, 'closed', '1009 is terminal')
})

t.test('browser mode: session cookie and CSRF header, no Authorization', async (t) => {
  FakeSocket.all = []
  const g = globalThis as { document?: unknown }
  g.document = { cookie: 'other=1; wirehub_csrf=tok%2Ben; x=y' }
  t.teardown(() => delete g.document)
  const f = fakeFetch({ '/api/client/websocket': () => ({ body: { data: { token: 't', socket: 'ws://h/ws' } } }) })
  const client = new WirehubClient({ baseUrl: BASE, WebSocket: FakeSocket, fetch: f.fetch, clock: new ManualClock() })
  t.teardown(() => client.close())
  client.channels()
  await settle(() => f.calls.length === 1, 'credential fetch')
  const init = f.calls[0]!.init!
  t.equal(init.credentials, 'include')
  const headers = init.headers as Record<string, string>
  t.equal(headers['X-CSRF-Token'], 'tok+en')
  t.notOk(headers.authorization)
})
