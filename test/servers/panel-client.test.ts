/**
 * The Pterodactyl panel's own console client, reproduced against wirehub: Sockette's reconnect
 * rules (reconnect 1 s after any close except 1000, 1001 and 1005; on `onreconnect` the
 * panel re-sends `auth` with the token it has) and the panel's WebsocketHandler (fetch a fresh
 * token on `token expiring`, `token expired`, and on `jwt error` with "exp claim is invalid" or
 * "denylist"; a failed fetch is simply dropped, as the panel does). Through real sockets it shows:
 * the client recovers from failed refreshes (Wings-style repeats), keeps its console after a
 * permission change, reconnects by itself after a wirehub restart (1012), does not storm when
 * the server is suspended (1001: no reconnect) and stops after the server is deleted (1001).
 */
import t from 'tap'
import { WebSocket } from 'ws'
import { bearer, build, freshDatabase, type TestApp } from '../helper.js'
import { sleep, until } from '../wait.js'
import { setup } from './console-helpers.js'

/** Sockette 2.0.6, src/index.js: the close codes after which it does not reconnect. */
const SOCKETTE_FINAL = new Set([1000, 1001, 1005])
const SOCKETTE_TIMEOUT_MS = 1000
/** WebsocketHandler.tsx: jwt errors after which the panel fetches a new token. */
const RECONNECT_ERRORS = ['jwt: exp claim is invalid', 'jwt: created too far in past (denylist)']

class PanelConsole {
  readonly events: Array<{ event: string; args: string[] }> = []
  readonly closes: number[] = []
  opens = 0
  attempts = 0
  refreshes = 0
  failRefresh = false
  private ws: WebSocket | null = null
  private token = ''
  private updating = false
  private stopped = false
  private bell: Array<() => void> = []

  constructor(
    private readonly url: string,
    private readonly getToken: () => Promise<string>,
  ) {}

  async start(): Promise<void> {
    this.token = await this.getToken()
    this.open()
  }

  stop(): void {
    this.stopped = true
    this.ws?.terminate()
  }

  /** Resolves at the next recorded event (after `from`) with this name. */
  async next(event: string, from = this.events.length): Promise<number> {
    await until(() => this.events.slice(from).some((e) => e.event === event), `panel event ${event}`, 30_000)
    return this.events.findIndex((e, i) => i >= from && e.event === event)
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length
  }

  private open(): void {
    this.attempts++
    const ws = new WebSocket(this.url, { headers: { origin: 'https://panel.example.test' } })
    this.ws = ws
    ws.on('open', () => {
      this.opens++
      this.send('auth', this.token)
    })
    ws.on('message', (data) => {
      const { event, args } = JSON.parse(data.toString()) as { event: string; args?: string[] }
      this.events.push({ event, args: args ?? [] })
      if (event === 'token expiring' || event === 'token expired') this.updateToken()
      if (event === 'jwt error' && RECONNECT_ERRORS.some((v) => (args?.[0] ?? '').toLowerCase().includes(v))) this.updateToken()
    })
    ws.on('error', () => {})
    ws.on('close', (code) => {
      this.closes.push(code)
      if (this.stopped || SOCKETTE_FINAL.has(code)) return
      setTimeout(() => {
        if (this.stopped) return
        this.open() // Sockette's onreconnect: the panel authenticates again on open
      }, SOCKETTE_TIMEOUT_MS)
    })
  }

  send(event: string, payload: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ event, args: [payload] }))
  }

  private updateToken(): void {
    if (this.updating) return
    this.updating = true
    this.refreshes++
    const p = this.failRefresh ? Promise.reject(new Error('refresh failed')) : this.getToken()
    p.then((token) => {
      this.token = token
      this.send('auth', token)
    })
      .catch(() => {})
      .finally(() => {
        this.updating = false
      })
  }
}

t.test('the Pterodactyl panel console client', async (root) => {
  const t = root
  const DATABASE_URL = await freshDatabase(t)
  const env = { DATABASE_URL, ALLOWED_ORIGINS: '*', SOCKET_TOKEN_TTL: '6', SOCKET_TOKEN_REPEAT: '1' }
  const first = await setup(t, env)
  const owner = await first.user('owner@example.test')
  const sub = await first.user('sub@example.test')
  const server = await first.server({ name: 'panel', user: owner.id })
  t.equal((await first.post(`/api/client/servers/${server.uuid}/users`, owner.key, { email: sub.email, permissions: ['control.console'] })).status, 200)
  let current: TestApp = first
  const getToken = async () => {
    const res = await current.app.inject({ method: 'GET', url: `/api/client/servers/${server.uuid}/websocket`, headers: bearer(sub.key) })
    if (res.statusCode !== 200) throw new Error(`credentials: ${res.statusCode}`)
    return (res.json() as { data: { token: string } }).data.token
  }
  const url = `${first.url.replace(/^http/, 'ws')}/api/servers/${server.uuid}/ws`
  const panel = new PanelConsole(url, getToken)
  t.teardown(() => panel.stop())
  await panel.start()
  await panel.next('auth success')

  await t.test('recovers from failed refreshes', async (t) => {
    panel.failRefresh = true
    const from = panel.events.length
    await panel.next('token expiring', from)
    const expired = await panel.next('token expired', from)
    await panel.next('token expired', expired + 1) // repeated while the condition holds
    t.ok(panel.refreshes >= 2, 'each warning made the panel try again')
    panel.failRefresh = false
    await panel.next('auth success', panel.events.length)
    t.equal(panel.opens, 1, 'on the same socket')
  })

  await t.test('keeps its console after a permission change', async (t) => {
    const from = panel.events.length
    const upd = await first.post(`/api/client/servers/${server.uuid}/users/${sub.uuid}`, owner.key, { permissions: ['control.console', 'control.start'] })
    t.equal(upd.status, 200)
    const at = await panel.next('token expiring', from)
    await panel.next('auth success', at)
    panel.send('set state', 'start') // the granted permission works on the same socket
    await until(() => panel.events.slice(from).some((e) => e.event === 'status' && e.args[0] === 'running'), 'started by the subuser')
    t.same(panel.closes, [], 'never closed')
    t.equal(panel.opens, 1)
  })

  await t.test('reconnects by itself after a restart', async (t) => {
    const port = Number(new URL(first.url).port)
    await first.app.close()
    await until(() => panel.closes.length === 1, 'closed by the restart')
    t.equal(panel.closes[0], 1012, 'service restart')
    const second = await build(root, { env }) // lives until the end of the whole test
    await second.app.listen({ host: '127.0.0.1', port })
    current = second
    await until(() => panel.opens === 2, 'reopened')
    await panel.next('auth success', panel.events.length)
  })

  await t.test('no storm when the server is suspended', async (t) => {
    const before = panel.closes.length // the restart's 1012, then one 1006 per refused attempt
    const res = await current.app.inject({ method: 'POST', url: `/api/application/servers/${server.uuid}/suspend`, headers: bearer(current.adminKey) })
    t.equal(res.statusCode, 204)
    await until(() => panel.closes.length === before + 1, 'closed by the suspension')
    t.equal(panel.closes[before], 1001)
    const attempts = panel.attempts
    await sleep(3 * SOCKETTE_TIMEOUT_MS) // Sockette would have retried three times by now
    t.equal(panel.attempts, attempts, 'no reconnect attempt')
  })

  await t.test('stops after the server is deleted', async (t) => {
    const admin = bearer(current.adminKey)
    t.equal((await current.app.inject({ method: 'POST', url: `/api/application/servers/${server.uuid}/unsuspend`, headers: admin })).statusCode, 204)
    const again = new PanelConsole(url, getToken)
    t.teardown(() => again.stop())
    await again.start()
    await again.next('auth success')
    t.equal((await current.app.inject({ method: 'DELETE', url: `/api/application/servers/${server.id}`, headers: admin })).statusCode, 204)
    await until(() => again.closes.length === 1, 'closed by the deletion')
    t.equal(again.closes[0], 1001)
    await sleep(3 * SOCKETTE_TIMEOUT_MS)
    t.equal(again.attempts, 1, 'no reconnect attempt')
  })
})
