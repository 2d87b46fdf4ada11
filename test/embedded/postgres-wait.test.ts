/**
 * PostgreSQL at start-up, through real processes: a missing database is one line naming
 * DATABASE_URL; a server that is not up is waited for DATABASE_WAIT seconds (logged), then one
 * line; and a start succeeds when PostgreSQL comes up during the wait.
 */
import t from 'tap'
import { createServer, connect } from 'node:net'
import { join } from 'node:path'
import { freshDatabase } from '../helper.js'
import { freePort } from '../wait.js'
import { launch, oneLine, started, workspace } from './process-support.js'

const SECRET = 'startup-errors-secret-startup-errors-0123'

t.test('PostgreSQL: refusals are one line; a server not up yet is waited for, within DATABASE_WAIT', async (t) => {
  const root = workspace(t, 'pg-wait')
  const base = { DATA_DIR: join(root, 'data'), PORT: '0', SOCKET_TOKEN_SECRET: SECRET }
  const url = new URL(await freshDatabase(t))

  const unknown = new URL(url)
  unknown.pathname = '/wirehub_no_such_database'
  const noDb = launch(t, { ...base, DATABASE_URL: unknown.toString() }, root)
  t.not((await noDb.exited).code, 0)
  oneLine(t, noDb.stderr(), /^wirehub: PostgreSQL at 127\.0\.0\.1:5432\/wirehub_no_such_database has no such database \(DATABASE_URL\)/)

  // Nothing listens on `port`: the server waits (and says so), then gives up after 2 s.
  const port = await freePort()
  const later = new URL(url)
  later.port = String(port)
  const gaveUp = launch(t, { ...base, DATABASE_URL: later.toString(), DATABASE_WAIT: '2' }, root)
  t.not((await gaveUp.exited).code, 0)
  t.ok(gaveUp.logs.some((l) => String(l.msg).startsWith(`waiting for PostgreSQL at 127.0.0.1:${port}`)), 'the wait is logged')
  oneLine(t, gaveUp.stderr(), new RegExp(`^wirehub: PostgreSQL at 127\\.0\\.0\\.1:${port}/\\S+ did not accept connections within 2 s \\(DATABASE_WAIT\\): ECONNREFUSED`))

  // PostgreSQL "comes up" on that port (a TCP relay to the real one) while the server waits.
  const waiting = launch(t, { ...base, DATABASE_URL: later.toString(), DATABASE_WAIT: '120' }, root)
  await waiting.waitForLog((l) => String(l.msg).startsWith('waiting for PostgreSQL'))
  const relay = createServer((socket) => {
    const upstream = connect(5432, '127.0.0.1')
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve))
  t.teardown(() => relay.close())
  const { url: app } = await started(waiting)
  t.ok(waiting.logs.some((l) => String(l.msg) === `PostgreSQL at 127.0.0.1:${port}${url.pathname} is up`), 'logged when it is up')
  t.equal((await fetch(`${app}/ready`)).status, 200, 'ready once PostgreSQL is up')
  waiting.child.kill('SIGTERM')
  await waiting.exited
})
