/**
 * An upgrade request to an address with no socket (a typo of a socket route, a path the
 * dashboard's wildcard would otherwise catch, an HTTP-only route) is answered HTTP 404 with the
 * JSON error body before any websocket exists, so a client sees a refusal instead of a socket
 * that opens and is closed at once without a code (1005). Real `ws` clients on a real port.
 */
import t from 'tap'
import WebSocket from 'ws'
import { build } from '../helper.js'

interface Refusal { status: number; body: string; opened: boolean; message: string }

/** Opens a `ws` client and reports the HTTP answer it got instead of a socket. */
function refusal(url: string, origin: string): Promise<Refusal> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin })
    let opened = false
    ws.on('open', () => {
      opened = true
      ws.close()
    })
    ws.on('close', () => resolve({ status: 0, body: '', opened, message: 'closed' }))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
        const message = `Unexpected server response: ${res.statusCode}`
        resolve({ status: res.statusCode ?? 0, body, opened, message })
      })
    })
    ws.on('error', () => {})
  })
}

t.test('unknown socket paths are answered 404 with a JSON body before the upgrade', async (t) => {
  const { url } = await build(t, { listen: true })
  const wsBase = url.replace(/^http/, 'ws')
  for (const path of ['/ws/nope', '/api/servers/00000000-0000-4000-8000-000000000000/wsx', '/api/client/account', '/nope?token=x']) {
    const r = await refusal(`${wsBase}${path}`, url)
    t.equal(r.opened, false, `${path}: no websocket opened`)
    t.equal(r.status, 404, `${path}: HTTP 404`)
    const body = JSON.parse(r.body) as { errors: Array<{ code: string; status: string; detail: string }>; request_id: string }
    t.equal(body.errors[0]?.code, 'NotFoundHttpException', `${path}: the JSON error body`)
    t.equal(body.errors[0]?.status, '404')
    t.type(body.request_id, 'string', 'with the request id')
  }

  // What a plain `ws` user sees: the error event names the status.
  const err = await new Promise<Error>((resolve) => {
    const ws = new WebSocket(`${wsBase}/ws/nope`, { origin: url })
    ws.on('error', resolve)
  })
  t.match(err.message, 'Unexpected server response: 404')

  // The real socket routes still upgrade.
  const ws = new WebSocket(`${wsBase}/ws`, { origin: url })
  await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject))
  ws.close()
  // And an ordinary request to the dashboard's wildcard is unchanged.
  t.equal((await fetch(`${url}/ws/nope`)).status, 404)
})
