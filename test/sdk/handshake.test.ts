/**
 * The SDK's handshake in Node against a real wirehub with the default origin policy (no
 * ALLOWED_ORIGINS). That the README's `new WirehubClient({ baseUrl, apiKey, WebSocket })`
 * connects, because the SDK sends the base URL's origin, is run by readme-examples.test.ts.
 * A handshake the server refuses (403 for a foreign origin, 404 for a server that does not
 * exist) ends the socket at once with an error saying why: one attempt, no reconnect loop.
 */
import t from 'tap'
import WebSocket from 'ws'
import { HandshakeRefusedError, WirehubClient } from '../../packages/client/src/index.js'
import { build } from '../helper.js'
import { next, userWithKey } from './support.js'

t.test('refused handshakes are terminal and say why', async (t) => {
  const { app, url, adminKey } = await build(t, { listen: true })
  const { key } = await userWithKey(app, adminKey, 'handshake@example.test')

  const foreign = new WirehubClient({ baseUrl: url, apiKey: key, WebSocket, origin: 'https://elsewhere.example', backoff: { baseMs: 10, capMs: 20 } })
  t.teardown(() => foreign.close())
  const ch = foreign.channels()
  const error = next(ch, 'error', (e) => e instanceof HandshakeRefusedError)
  const closed = await next(ch, 'close')
  const err = (await error) as HandshakeRefusedError
  t.equal(err.status, 403)
  t.match(err.message, /HTTP 403: the Origin is not allowed .*ALLOWED_ORIGINS/, 'the error says what to change')
  t.equal(closed.willReconnect, false, 'no reconnect')
  t.equal(ch.state, 'closed')
  t.equal(ch.stats.connections, 1, 'one attempt only')
  await t.rejects(ch.ready(), /closed/, 'ready() rejects')

  const noOrigin = new WirehubClient({ baseUrl: url, apiKey: key, WebSocket, origin: false })
  t.teardown(() => noOrigin.close())
  const bare = noOrigin.channels()
  const bareErr = next(bare, 'error', (e) => e instanceof HandshakeRefusedError)
  t.equal((await next(bare, 'close')).willReconnect, false, 'origin: false sends none: refused, terminal')
  t.equal(((await bareErr) as HandshakeRefusedError).status, 403)

  const client = new WirehubClient({ baseUrl: url, apiKey: key, WebSocket })
  t.teardown(() => client.close())
  // A socket address that answers 404 at the handshake: the console socket of no server.
  const ue = client.userEvents('/api/servers/00000000-0000-4000-8000-000000000000/ws', { origin: url })
  const notFound = next(ue, 'error', (e) => e instanceof HandshakeRefusedError)
  t.equal((await next(ue, 'close')).willReconnect, false, '404 is terminal')
  const nf = (await notFound) as HandshakeRefusedError
  t.equal(nf.status, 404)
  t.match(nf.message, /no socket at this address/)
  t.equal(ue.stats.connections, 1)
})
