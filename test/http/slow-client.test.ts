/**
 * A client that sends its request body (or its headers) a byte at a time, forever, is cut off:
 * HTTP_REQUEST_TIMEOUT bounds the whole request and HTTP_HEADERS_TIMEOUT the headers. Real
 * sockets that keep dripping until the server ends them; the test waits for that end.
 */
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { build } from '../helper.js'

interface Drip {
  /** Everything the server wrote before it closed. */
  closed: Promise<string>
  socket: Socket
}

/** Writes `head` at once (or byte by byte with `slowHead`), then one body byte every 100 ms. */
function drip(url: string, head: string, slowHead = false): Drip {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  let received = ''
  let timer: NodeJS.Timeout | undefined
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (received += chunk))
  socket.on('error', () => {})
  const pending = slowHead ? [...head] : [head]
  socket.on('connect', () => {
    timer = setInterval(() => {
      if (socket.destroyed || !socket.writable) return
      socket.write(pending.length > 0 ? pending.shift()! : 'x')
    }, 100)
  })
  const closed = new Promise<string>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer)
      resolve(received)
    }),
  )
  return { closed, socket }
}

t.test('slow request bodies and slow headers are cut off', async (t) => {
  const { url, app } = await build(t, { listen: true, env: { HTTP_REQUEST_TIMEOUT: '1', HTTP_HEADERS_TIMEOUT: '1' } })
  const body = (n: number) =>
    `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nX-N: ${n}\r\n\r\n{"email":"`
  const slowBodies = Array.from({ length: 20 }, (_, i) => drip(url, body(i)))
  const slowHead = drip(url, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n\r\n', true)
  t.teardown(() => {
    for (const d of [...slowBodies, slowHead]) d.socket.destroy()
  })
  const answers = await Promise.all(slowBodies.map((d) => d.closed))
  t.equal(answers.filter((a) => /^HTTP\/1\.1 408/.test(a)).length, 20, 'all 20 slow bodies were answered 408 and disconnected')
  t.match(await slowHead.closed, /^(HTTP\/1\.1 408|)/, 'slow headers were disconnected')
  const ok = await fetch(`${url}/health`)
  t.equal(ok.status, 200, 'the server goes on answering others')
  t.equal(app.server.requestTimeout, 1000)
})
