/**
 * The user events socket is not guarded by Origin alone: USER_EVENTS_ALLOWED_IPS refuses other
 * addresses (403) and USER_EVENTS_MAX_CONNECTIONS_PER_IP caps the sockets one address holds
 * (429), before any websocket exists, on both listeners; the seed's Origin allow-list keeps
 * working for the addresses allowed.
 */
import t from 'tap'
import WebSocket from 'ws'
import { build } from '../helper.js'
import { mainSocketUrl } from './seed-client.js'

const open = (url: string, localAddress: string) =>
  new Promise<WebSocket | number>((resolve) => {
    const s = new WebSocket(url, { localAddress, headers: { origin: 'trusted-host' } })
    s.once('open', () => resolve(s))
    s.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0))
    s.once('error', () => {})
  })

t.test('address allow-list and per-address limit', async (t) => {
  const { app, url } = await build(t, {
    listen: true,
    env: { APPROVED_SOCKET_DOMAINS: JSON.stringify(['^trusted-host$']), USER_EVENTS_PORT: '0', USER_EVENTS_ALLOWED_IPS: '127.0.0.1', USER_EVENTS_MAX_CONNECTIONS_PER_IP: '2' },
  })
  const open_: WebSocket[] = []
  t.teardown(() => open_.forEach((s) => s.terminate()))
  for (const socketUrl of [mainSocketUrl(url), `ws://127.0.0.1:${app.userEvents.port}`]) {
    t.equal(await open(socketUrl, '127.0.0.2'), 403, `${socketUrl}: an address outside USER_EVENTS_ALLOWED_IPS is refused`)
  }
  const a = await open(mainSocketUrl(url), '127.0.0.1')
  const b = await open(`ws://127.0.0.1:${app.userEvents.port}`, '127.0.0.1')
  t.type(a, WebSocket, 'an allowed address with an approved Origin connects')
  t.type(b, WebSocket)
  open_.push(a as WebSocket, b as WebSocket)
  t.equal(await open(mainSocketUrl(url), '127.0.0.1'), 429, 'a third socket from the address: 429')
  ;(a as WebSocket).close()
  await new Promise((r) => (a as WebSocket).once('close', r))
  const c = await open(mainSocketUrl(url), '127.0.0.1')
  t.type(c, WebSocket, 'a slot freed by a close is usable again')
  open_.push(c as WebSocket)
})
