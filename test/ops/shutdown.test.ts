/**
 * Graceful shutdown of a real process on PostgreSQL: SIGTERM while a request is in flight (its
 * body still arriving on a slow connection) stops accepting new connections, lets that request
 * finish with a normal response, closes the database, and exits 0 well within 10 s.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, freshDatabase } from '../helper.js'
import { started, startServer } from '../embedded/process-support.js'

function readResponse(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (c: string) => (data += c))
    socket.on('end', () => resolve(data))
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
  })
}

t.test('SIGTERM finishes the in-flight request and exits 0', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'wirehub-shutdown-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const server = startServer({
    DATABASE_URL: await freshDatabase(t), DATA_DIR: join(root, 'data'), PORT: '0', LOG_LEVEL: 'info',
    SOCKET_TOKEN_SECRET: 'shutdown-test-secret-shutdown-test-secret', ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_API_KEY,
    DEMO_SERVER: 'false', SHUTDOWN_TIMEOUT: '10',
  }, root)
  t.teardown(() => server.child.kill('SIGKILL'))
  const { url } = await started(server)
  const { port } = new URL(url)

  // A login whose body arrives slowly: the request is in flight when SIGTERM lands.
  const body = JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD })
  const socket = connect(Number(port), '127.0.0.1')
  const response = readResponse(socket)
  await new Promise<void>((r) => socket.once('connect', () => r()))
  socket.write(
    `POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.slice(0, 10),
  )
  const incoming = await server.waitForLog((l) => l.msg === 'incoming request' && (l.req as { url?: string })?.url === '/api/auth/login')

  const signalledAt = Date.now()
  server.child.kill('SIGTERM')
  await server.waitForLog((l) => l.msg === 'shutting down')

  // New connections are refused (or closed without an answer) while the old request is open.
  const fresh = await fetch(`${url}/health`).then((r) => r.status, () => 'refused')
  t.not(fresh, 200, `a new request after SIGTERM is not served (${fresh})`)

  socket.write(body.slice(10))
  const raw = await response
  t.match(raw, /^HTTP\/1\.1 200 /, 'the in-flight request completes normally')
  t.match(raw, /"object":"user"/, 'with its full body')
  const exit = await server.exited
  // Read the log only after exit: the line may still be in the pipe when the response arrives.
  const completed = server.logs.find((l) => l.msg === 'request completed' && l.reqId === incoming.reqId)
  t.ok(completed, 'and is logged as completed')
  t.equal(exit.code, 0, 'exit code 0')
  t.ok(exit.at - signalledAt < 10_000, `exited ${exit.at - signalledAt} ms after SIGTERM (< 10 s)`)
  t.notMatch(server.stderr(), /error/i, 'nothing on stderr')
})
