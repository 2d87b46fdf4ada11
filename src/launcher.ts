/**
 * The launcher: a tiny long-lived process that starts game-server holders when wirehub asks, so
 * the games belong to the launcher's process tree (in Docker: its container), not wirehub's.
 * Stopping, upgrading or recreating wirehub then leaves them running; wirehub finds them again by
 * pid (in Docker it joins the launcher's pid namespace). All logic stays in wirehub: the launcher
 * reads no configuration besides its socket path, holds no secret and runs only holder.sh with the
 * arguments, folder and environment wirehub sends (the game is sandboxed by those arguments).
 *
 *   node dist/launcher.js [socket]           listen (default: $SERVERS_LAUNCHER)
 *   node dist/launcher.js --check [socket]   exit 0 when a launcher answers there (health check)
 *
 * The socket is created mode 0600 (only the launcher's user, which must be wirehub's, may ask);
 * it lives in wirehub's data folder, which sandboxed games cannot see. Protocol: holder-process.ts.
 */
import { existsSync, unlinkSync } from 'node:fs'
import { createConnection, createServer, type Socket } from 'node:net'
import { MAX_REQUEST_BYTES, parseRequest, startHolder, type LauncherReply } from './modules/servers/holder-process.js'

const argv = process.argv.slice(2)
const check = argv[0] === '--check'
const socketPath = (check ? argv[1] : argv[0]) ?? process.env.SERVERS_LAUNCHER ?? ''

function fail(message: string): never {
  process.stderr.write(`launcher: ${message}\n`)
  process.exit(1)
}

/** Resolves true when something answers a ping on the socket within 2 s. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path)
    let data = ''
    const done = (ok: boolean) => {
      c.destroy()
      resolve(ok)
    }
    c.setTimeout(2000, () => done(false))
    c.on('error', () => done(false))
    c.on('connect', () => c.write('{"op":"ping"}\n'))
    c.on('data', (d) => (data += d.toString()))
    c.on('end', () => done(data.includes('"pid"')))
  })
}

function serve(conn: Socket): void {
  let buf = ''
  const reply = (r: LauncherReply) => conn.end(JSON.stringify(r) + '\n')
  conn.setTimeout(10_000, () => conn.destroy())
  conn.on('error', () => conn.destroy())
  conn.on('data', (chunk) => {
    buf += chunk.toString('utf8')
    if (buf.length > MAX_REQUEST_BYTES) return reply({ error: 'request too large' })
    const nl = buf.indexOf('\n')
    if (nl < 0) return
    conn.removeAllListeners('data')
    const req = parseRequest(buf.slice(0, nl))
    if (typeof req === 'string') return reply({ error: req })
    if (req.op === 'ping') return reply({ pid: process.pid, uid: process.getuid?.() ?? -1 })
    startHolder(req).then(
      (pid) => reply({ pid }),
      (err: Error) => reply({ error: err.message }),
    )
  })
}

async function main(): Promise<void> {
  if (!socketPath.startsWith('/')) fail('the socket path (argument or SERVERS_LAUNCHER) must be absolute')
  if (check) process.exit((await answers(socketPath)) ? 0 : 1)
  if (existsSync(socketPath)) {
    if (await answers(socketPath)) fail(`another launcher answers on ${socketPath}`)
    unlinkSync(socketPath) // left by a launcher that did not exit cleanly
  }
  const server = createServer(serve)
  // Created 0600 from the start (no window where another user could connect); holders are
  // started after the umask is back to the usual one, so games see their normal umask.
  const umask = process.umask(0o077)
  server.listen(socketPath, () => {
    process.umask(umask)
    process.stdout.write(`launcher: listening on ${socketPath} (pid ${process.pid})\n`)
  })
  server.on('error', (err) => fail(err.message))
  // The holders are detached: they keep running after the launcher exits (outside a container;
  // in one, stopping the launcher's container ends them, which is why it is never upgraded with
  // wirehub).
  const stop = () => server.close(() => process.exit(0))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

void main()
