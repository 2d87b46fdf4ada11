/**
 * The socket session core on its own, through real ws sockets and a minimal fourth family (an
 * adapter of a few lines): the inbound pipeline (size → 1009, one flood policy → one notice
 * then 4029, a ping flood → 4029, strictly ordered handling even when a step waits), internal
 * errors (1011), the auth deadline (4001), token timers (warning at min(60 s, TTL/2), repeats of
 * `expiring`/`expired` while the condition holds), the index (revocation by credential,
 * `recheckAll`, re-evaluation by user) and the unauthenticated budget per address.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { Hub } from '../../src/modules/realtime/hub.js'
import { CLOSE } from '../../src/modules/realtime/close-codes.js'
import { Session, type Family, type ProtocolAdapter } from '../../src/modules/realtime/session.js'
import { SessionIndex } from '../../src/modules/realtime/session-index.js'
import { clearTokenTimers, resetTokenTimers, warnLeadSec, type DueSlot, type TokenTimerState, type TokenTimerTarget } from '../../src/modules/realtime/socket-support.js'

/** Token timers for a plain target (a session keeps the same state in its own fields). */
class TokenTimers implements TokenTimerState {
  timerSlot: DueSlot | null = null
  timerPhase: 'expiring' | 'expired' = 'expiring'
  timerExp = 0
  constructor(
    private readonly target: TokenTimerTarget,
    readonly tokenRepeatMs: number,
  ) {}
  tokenExpiring(expSec: number): void {
    this.target.tokenExpiring(expSec)
  }
  tokenExpired(): void {
    this.target.tokenExpired()
  }
  reset(iatSec: number, expSec: number): void {
    resetTokenTimers(this, iatSec, expSec)
  }
  clear(): void {
    clearTokenTimers(this)
  }
}
import { until } from '../wait.js'

const family = (over: Partial<Family['limits']> = {}): Family => ({
  kind: 'test',
  limits: { maxMessageBytes: 128, messagesPerSecond: 5, burst: 5, authTimeoutSec: 0, ...over },
})

async function rig(t: { teardown(fn: () => unknown): void }, fam: Family, adapter: (s: Session) => ProtocolAdapter, repeatMs = 200) {
  const server = createServer()
  const wss = new WebSocketServer({ server })
  const log = pino({ level: 'silent' })
  const hub = new Hub({ log, limits: { softLimitBytes: 65536, hardLimitBytes: 1 << 20, coalesceWrites: 'off' }, pingIntervalMs: 60_000 })
  const index = new SessionIndex({ maxPending: 100, maxPendingPerIp: 2 })
  const sessions: Session[] = []
  wss.on('connection', (ws, req) => {
    const s = new Session(ws, fam, req.socket.remoteAddress ?? '', null, { hub, index, log, tokenRepeatMs: repeatMs })
    s.use(adapter(s))
    sessions.push(s)
  })
  server.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.teardown(async () => {
    await hub.close()
    wss.close()
    server.close()
  })
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  async function client() {
    const ws = new WebSocket(url)
    const messages: any[] = []
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    await new Promise((r) => ws.once('open', r))
    await until(() => sessions.length > 0 && sessions.at(-1)!.conn.ws.readyState === 1, 'server side')
    return { ws, messages, closed, session: sessions.at(-1)! }
  }
  return { client, index, hub }
}

const echo = (s: Session): ProtocolAdapter => ({
  message: (v) => void s.send(JSON.stringify({ echo: v })),
  refused: (e) => void s.send(JSON.stringify({ refused: e })),
  throttled: () => void s.send(JSON.stringify({ throttled: true })),
})

t.test('warning lead: min(60 s, TTL/2)', async (t) => {
  t.equal(warnLeadSec(0, 600), 60)
  t.equal(warnLeadSec(0, 62), 31, 'a 62 s token is not "expiring" right after auth')
  t.equal(warnLeadSec(100, 110), 5)
})

t.test('token timers repeat while the condition holds', async (t) => {
  const seen: string[] = []
  const timers = new TokenTimers({ tokenExpiring: () => void seen.push('expiring'), tokenExpired: () => void seen.push('expired') }, 100)
  const now = Date.now() / 1000
  timers.reset(now, now + 0.4) // warning at 0.2 s left, then every 100 ms, expiry at 0.4 s
  await until(() => seen.filter((e) => e === 'expired').length >= 3, 'three expired')
  timers.clear()
  t.ok(seen.indexOf('expiring') === 0, 'the warning comes first')
  t.ok(seen.filter((e) => e === 'expiring').length >= 2, 'expiring repeated')
  t.same(seen.slice(seen.indexOf('expired')), ['expired', 'expired', 'expired'], 'expired repeated, nothing else after it')
})

t.test('token timers due at the same time share a timer; clearing one leaves the others', async (t) => {
  const seen: string[] = []
  const target = (name: string) => ({ tokenExpiring: () => void seen.push(`${name} expiring`), tokenExpired: () => void seen.push(`${name} expired`) })
  const now = Date.now() / 1000
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new TokenTimers(target(n), 100))
  for (const x of [a!, b!, c!]) x.reset(now, now + 0.3)
  b!.clear()
  await until(() => seen.includes('a expired') && seen.includes('c expired'), 'both expired')
  a!.clear()
  c!.clear()
  t.ok(seen.includes('a expiring') && seen.includes('c expiring'), 'both were warned')
  t.notOk(seen.some((e) => e.startsWith('b ')), 'the cleared one was never called')
  const count = seen.length
  await new Promise((r) => setTimeout(r, 250))
  t.equal(seen.length, count, 'nothing fires after every member is cleared')
})

t.test('a token timer cleared by the handler of another one due at the same time is not called', async (t) => {
  const seen: string[] = []
  const now = Date.now() / 1000
  // `first` closes `second` when warned (as closing another socket of the user would).
  let second: TokenTimers | null = null
  const first = new TokenTimers({ tokenExpiring: () => { seen.push('first expiring'); second!.clear() }, tokenExpired: () => void seen.push('first expired') }, 100)
  second = new TokenTimers({ tokenExpiring: () => void seen.push('second expiring'), tokenExpired: () => void seen.push('second expired') }, 100)
  first.reset(now, now + 0.3)
  second.reset(now, now + 0.3)
  await until(() => seen.includes('first expired'), 'first expired')
  first.clear()
  await new Promise((r) => setTimeout(r, 250))
  t.notOk(seen.some((e) => e.startsWith('second ')), 'the cleared one was never called, and nothing was rescheduled for it')
})

t.test('inbound pipeline: size, flood, parse, order, internal errors', async (t) => {
  const order: number[] = []
  const r = await rig(t, family(), (s) => ({
    ...echo(s),
    async message(v) {
      const n = (v as { n: number }).n
      if (n === 99) throw new Error('boom')
      if (n === 1) await new Promise((res) => setTimeout(res, 50)) // a step that waits on I/O
      order.push(n)
      s.send(JSON.stringify({ done: n }))
    },
  }))
  const a = await r.client()
  for (const n of [1, 2, 3]) a.ws.send(JSON.stringify({ n }))
  a.ws.send('{nope')
  await until(() => order.length === 3 && a.messages.some((m) => m.refused), 'handled')
  t.same(order, [1, 2, 3], 'handled strictly in arrival order')
  t.same(a.messages.find((m) => m.refused), { refused: 'invalid_json' }, 'a parse error is reported in the family shape')
  a.ws.send(JSON.stringify({ n: 99 }))
  t.equal(await a.closed, CLOSE.INTERNAL.code, 'a failing handler closes with 1011')

  const big = await r.client()
  big.ws.send(JSON.stringify({ pad: 'x'.repeat(200) }))
  t.equal(await big.closed, CLOSE.TOO_BIG.code, 'over maxMessageBytes: 1009')

  const flood = await r.client()
  for (let i = 0; i < 30; i++) flood.ws.send(JSON.stringify({ n: 100 + i }))
  t.equal(await flood.closed, CLOSE.RATE_LIMITED.code, 'a flood closes with 4029')
  t.equal(flood.messages.filter((m) => m.throttled).length, 1, 'one notice per episode')

  const pinger = await r.client()
  for (let i = 0; i < 30; i++) pinger.ws.ping()
  t.equal(await pinger.closed, CLOSE.RATE_LIMITED.code, 'a ping flood closes with 4029 too')
})

t.test('auth deadline, token repeats, revocation and the pending budget', async (t) => {
  const events: string[] = []
  const r = await rig(t, family({ authTimeoutSec: 1, messagesPerSecond: 50, burst: 50 }), (s) => ({
    message(v) {
      const m = v as { exp?: number }
      if (m.exp) {
        const now = Date.now() / 1000
        s.authenticated({ userId: 7, cred: 'k:1', iat: now, exp: now + m.exp })
        s.send(JSON.stringify({ ok: true }))
      } else s.send(JSON.stringify({ expired: s.expired }))
    },
    expiring: () => void events.push('expiring'),
    expired: () => void events.push('expired'),
    recheck: () => void events.push('recheck'),
  }))
  const idle = await r.client()
  t.equal(r.index.pending, 1, 'counted as unauthenticated')
  t.equal(await idle.closed, CLOSE.AUTH_TIMEOUT.code, 'no auth within authTimeoutSec: 4001')
  t.equal(r.index.pending, 0)

  const a = await r.client()
  const b = await r.client()
  t.match(r.index.admit('127.0.0.1'), { status: 429, code: CLOSE.TOO_MANY_CONNECTIONS }, 'a third unauthenticated socket from the address is refused')
  t.equal(r.index.admit('127.0.0.2'), null, 'another address is not')
  a.ws.send(JSON.stringify({ exp: 0.6 }))
  await until(() => a.messages.length === 1, 'authenticated')
  t.equal(r.index.admit('127.0.0.1'), null, 'an authenticated socket leaves the unauthenticated budget')
  t.equal(r.index.openOf('test'), 2, 'open sockets of the family')
  t.equal(r.index.openOf('test', '127.0.0.1'), 2, 'open sockets of the family from the address')
  t.equal(r.index.authenticatedOf('test'), 1, 'authenticated sockets of the family')
  t.equal(r.index.userCount(7, 'test'), 1, "the user's authenticated sockets")
  await until(() => events.filter((e) => e === 'expired').length >= 2, 'expired twice')
  t.ok(events.indexOf('expiring') < events.indexOf('expired'), 'warned before expiry')
  a.ws.send('{}')
  await until(() => a.messages.length === 2, 'answer')
  t.same(a.messages[1], { expired: true }, 'the adapter sees the expired state')

  r.index.recheckUser(7)
  t.ok(events.includes('recheck'), 'a user change reaches the adapter')
  t.equal(await r.index.recheckAll(async (cred) => cred !== 'k:1'), 1, 'recheckAll closes sessions whose credential is gone')
  t.equal(await a.closed, CLOSE.REVOKED.code, '4010')
  b.ws.close()
  await b.closed
  t.equal(r.index.size, 0, 'nothing left in the index')
  t.same([r.index.openOf('test'), r.index.openOf('test', '127.0.0.1'), r.index.authenticatedOf('test'), r.index.userCount(7, 'test')], [0, 0, 0, 0], 'no count left behind')
  t.equal(r.index.stats.disconnects.get(`test|${CLOSE.REVOKED.code}`), 1, 'disconnects counted by code')
})

t.test('subscriptions pause while expired; failed auths; sockets per resource', async (t) => {
  const r = await rig(t, family({ authTimeoutSec: 5, messagesPerSecond: 50, burst: 50, maxAuthFailures: 2, maxPerResource: 1 }), (s) => {
    s.serve('thing:1')
    return {
      message(v) {
        const m = v as { exp?: number; bad?: boolean }
        if (m.bad) return void (s.send('{"refused":true}'), s.authFailed('invalid_token'))
        const now = Date.now() / 1000
        if (!s.authenticated({ userId: 1, cred: 'k:1', iat: now - 100, exp: now + (m.exp ?? 60) })) return
        s.subscribe('topic:a')
        s.send('{"ok":true}')
      },
    }
  })
  r.hub.registerCodec('raw', { encode: (p) => JSON.stringify(p) })
  const a = await r.client()
  a.ws.send(JSON.stringify({ exp: 0.5 }))
  await until(() => a.messages.length === 1, 'authenticated')
  r.hub.publish({ topics: ['topic:a'], codec: 'raw', payload: { n: 1 }, lane: 'reliable' })
  await until(() => a.messages.some((m) => m.n === 1), 'delivered while valid')
  await until(() => a.session.expired, 'expired')
  t.equal(r.hub.topicCount, 0, 'paused: the hub holds no subscription of the expired session')
  r.hub.publish({ topics: ['topic:a'], codec: 'raw', payload: { n: 2 }, lane: 'reliable' })
  a.ws.send(JSON.stringify({ exp: 60 }))
  await until(() => a.messages.filter((m) => m.ok).length === 2, 're-authenticated')
  r.hub.publish({ topics: ['topic:a'], codec: 'raw', payload: { n: 3 }, lane: 'reliable' })
  await until(() => a.messages.some((m) => m.n === 3), 'resumed on renewal')
  t.notOk(a.messages.some((m) => m.n === 2), 'nothing delivered while expired')
  t.equal(r.hub.topicCount, 1, 'one subscription again, not two')

  const full = await r.client()
  full.ws.send('{}')
  t.equal(await full.closed, CLOSE.TOO_MANY_CONNECTIONS.code, 'maxPerResource: the second authenticated socket on the resource is closed 4009')

  const guess = await r.client()
  guess.ws.send('{"bad":true}')
  guess.ws.send('{"bad":true}')
  t.equal(await guess.closed, CLOSE.AUTH_FAILED.code, 'maxAuthFailures: 4003')
  t.equal(guess.messages.length, 2, 'each failure answered before the close')
})
