/**
 * Console benchmark (not a test): lines/s from a real process to N console sockets through the
 * durable log (game → holder → log file → follower → hub), against the in-memory path in the
 * same run (the same lines published straight into the hub, as wirehub did when it read the
 * game's stdout itself), and server memory per authenticated console socket.
 *
 *   node --expose-gc --import tsx bench/console-throughput.ts [sockets=100] [lines=20000] [memSockets=1000]
 *
 * The app runs here on a fresh PostgreSQL database (as the tests do); the websocket clients run
 * in a separate Node process so their memory does not count. The output throttle is lifted
 * (CONSOLE_THROTTLE_LINES=1e6/s) so the pipeline itself is measured: process stdout → splitter →
 * ring buffer → hub (one encode per line) → N sockets.
 */
import { CONSOLE_CODEC, consoleLine, serverTopic } from '../src/modules/servers/console.codec.js'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { build, bearer } from '../test/helper.js'
import { KEY_TYPE_CLIENT } from '../src/modules/auth/api-key.format.js'
import { DEMO_SERVER_SCRIPT } from '../src/modules/servers/servers.plugin.js'

const SOCKETS = Number(process.argv[2] ?? 100)
const LINES = Number(process.argv[3] ?? 20000)
const MEM_SOCKETS = Number(process.argv[4] ?? 1000)

/** The client side, run with `node --input-type=module`: opens sockets, authenticates, counts lines. */
const CLIENT = `
import { WebSocket } from 'ws'
const [url, origin, count, expect] = process.argv.slice(1)
const tokens = JSON.parse(process.env.TOKENS)
let ready = 0, done = 0
const sockets = []
for (let i = 0; i < Number(count); i++) {
  const ws = new WebSocket(url, { headers: { origin } })
  let n = 0
  ws.on('open', () => ws.send(JSON.stringify({ event: 'auth', args: [tokens[i % tokens.length]] })))
  ws.on('message', (d) => {
    const s = d.toString()
    if (s.startsWith('{"event":"auth success"')) { if (++ready === Number(count)) console.log('ready') ; return }
    if (s.includes('flood line') && ++n === Number(expect)) { if (++done === Number(count)) console.log('done') }
  })
  sockets.push(ws)
}
process.stdin.on('data', () => {})
process.stdin.on('end', () => process.exit(0))
`

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) }

async function main() {
  const { app, url, adminKey } = await build(t, {
    listen: true,
    env: { CONSOLE_THROTTLE_LINES: '1000000', CONSOLE_THROTTLE_PERIOD_MS: '1000', CONSOLE_MAX_SOCKETS: String(Math.max(SOCKETS, MEM_SOCKETS) + 10), STATS_INTERVAL_MS: '1000', RATE_LIMIT_MAX: '1000000', WS_MAX_PENDING_PER_IP: '100000', WS_BACKLOG_HARD: String(64 * 1024 * 1024) },
  })
  const admin = await app.prisma.user.findFirstOrThrow({ where: { rootAdmin: true } })
  const { key } = await app.apiKeys.create(admin, KEY_TYPE_CLIENT, { description: 'bench' })
  const created = await app.inject({
    method: 'POST', url: '/api/application/servers', headers: bearer(adminKey),
    payload: { name: 'bench', user: admin.id, command: process.execPath, args: [DEMO_SERVER_SCRIPT], done_pattern: '\\]: Done \\(', environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0' } },
  })
  const uuid = created.json().attributes.uuid as string
  const creds = async () => (await app.inject({ method: 'GET', url: `/api/client/servers/${uuid}/websocket`, headers: bearer(key) })).json().data
  const { socket } = await creds()
  const tokens: string[] = []
  for (let i = 0; i < 20; i++) tokens.push((await creds()).token)

  const clients = (count: number, expect: number) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT, socket, url, String(count), String(expect)], { env: { ...process.env, TOKENS: JSON.stringify(tokens), NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })
    const wait = (word: string) => new Promise<void>((resolve) => lines.on('line', (l) => l === word && resolve()))
    return { child, wait }
  }
  const inst = () => app.inject({ method: 'POST', url: `/api/client/servers/${uuid}/power`, headers: bearer(key), payload: { signal: 'start' } })
  await inst()
  while ((await app.inject({ method: 'GET', url: `/api/client/servers/${uuid}/resources`, headers: bearer(key) })).json().attributes.current_state !== 'running') await new Promise((r) => setTimeout(r, 50))

  // 1. throughput
  const c = clients(SOCKETS, LINES)
  await c.wait('ready')
  const started = process.hrtime.bigint()
  const finished = c.wait('done')
  await app.inject({ method: 'POST', url: `/api/client/servers/${uuid}/command`, headers: bearer(key), payload: { command: `flood ${LINES}` } })
  await finished
  const secs = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`durable log path: ${LINES} lines to ${SOCKETS} sockets in ${secs.toFixed(2)} s = ${Math.round(LINES / secs)} lines/s (${Math.round((LINES * SOCKETS) / secs)} frames/s delivered), encodes=${app.hub.encodes}`)
  c.child.stdin!.end()
  await new Promise((r) => c.child.once('exit', r))

  // 1b. the in-memory path: the same lines into the hub, in stdout-sized chunks, no file between.
  const b = clients(SOCKETS, LINES)
  await b.wait('ready')
  const memStarted = process.hrtime.bigint()
  const memFinished = b.wait('done')
  for (let i = 0; i < LINES; i += 64) {
    for (let k = i; k < Math.min(LINES, i + 64); k++) {
      app.hub.publish({ topics: [serverTopic(uuid)], codec: CONSOLE_CODEC, payload: consoleLine(`[00:00:00] [Flood/INFO]: flood line ${k}`, 1_000_000 + k), lane: 'reliable' })
    }
    await new Promise((r) => setImmediate(r))
  }
  await memFinished
  const memSecs = Number(process.hrtime.bigint() - memStarted) / 1e9
  console.log(`in-memory path: ${LINES} lines to ${SOCKETS} sockets in ${memSecs.toFixed(2)} s = ${Math.round(LINES / memSecs)} lines/s; durable/in-memory = ${(memSecs / secs).toFixed(2)}×`)
  b.child.stdin!.end()
  await new Promise((r) => b.child.once('exit', r))

  // 2. memory per authenticated console socket (server side: this process only)
  const gc = (globalThis as { gc?: () => void }).gc
  const measure = () => {
    gc?.()
    gc?.()
    return process.memoryUsage()
  }
  await new Promise((r) => setTimeout(r, 500))
  const before = measure()
  const m = clients(MEM_SOCKETS, 1)
  await m.wait('ready')
  await new Promise((r) => setTimeout(r, 500))
  const after = measure()
  console.log(
    `memory: ${MEM_SOCKETS} authenticated console sockets: heap +${((after.heapUsed - before.heapUsed) / MEM_SOCKETS / 1024).toFixed(1)} KiB/socket, ` +
      `rss +${((after.rss - before.rss) / MEM_SOCKETS / 1024).toFixed(1)} KiB/socket${gc ? '' : ' (run with --expose-gc for stable numbers)'}`,
  )
  m.child.stdin!.end()
  await new Promise((r) => m.child.once('exit', r))
  for (const fn of teardowns.reverse()) await fn()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
