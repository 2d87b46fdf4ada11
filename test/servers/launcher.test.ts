/**
 * Games started by the launcher survive what a container stop does to wirehub: the launcher
 * (src/launcher.ts) runs as a process of its own, wirehub (a real `src/server.ts` with
 * SERVERS_LAUNCHER) starts two demo servers and a probe through it, then wirehub's whole process
 * group and every process it started are SIGKILLed. The holders are the launcher's children, so
 * they and the games live on; a game crashes meanwhile. A new wirehub re-attaches: console
 * stream, commands, stats, power actions, the crash with its exit code, and new starts go through
 * the launcher again. The sandbox still applies: a game cannot see the launcher's socket or the
 * data folder.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { entryArgs } from '../entry-point.js'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, freshDatabase } from '../helper.js'
import { freePort, until } from '../wait.js'
import { startServer, started, type ServerProcess } from '../embedded/process-support.js'
import { ConsoleClient } from './console-helpers.js'
import { endGames, hostClient, hostEnv, type Seqd } from './host-client.js'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'

const SECRET = 'launcher-secret-launcher-secret-0123456789'

/** Parent pid of a process (field 4 of /proc/<pid>/stat), or null when it is gone. */
function ppidOf(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return null
  }
}

/** Every process whose ancestry leads to `root` (what a cgroup kill of its container reaches). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const ppid = ppidOf(pid)
    if (ppid !== null) parent.set(pid, ppid)
  }
  const out: number[] = []
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        out.push(pid)
        break
      }
    }
  }
  return out
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('games started by the launcher survive a process-group kill of wirehub and are re-attached', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-launcher-'))
  const cwd = mkdtempSync(join(tmpdir(), 'wirehub-launcher-cwd-'))
  const socket = join(dataDir, 'launcher.sock')
  const port = await freePort()
  const env = await hostEnv(t, dataDir, port, SECRET, { SERVERS_LAUNCHER: socket })
  const url = `http://127.0.0.1:${port}`
  const procs: ServerProcess[] = []
  const uuids: string[] = []

  // The launcher: its own process group, an environment with nothing but PATH.
  const launcher = spawn(process.execPath, [...entryArgs('launcher'), socket], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } })
  let launcherOut = ''
  launcher.stdout!.on('data', (d: Buffer) => (launcherOut += d.toString()))
  launcher.stderr!.on('data', (d: Buffer) => (launcherOut += d.toString()))
  t.teardown(() => {
    endGames(dataDir, uuids)
    for (const p of procs) p.child.kill('SIGKILL')
    launcher.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(cwd, { recursive: true, force: true })
  })
  await until(() => launcherOut.includes('listening on'), `launcher listening (${launcherOut})`, 30_000, 20)

  const boot = async () => {
    const p = startServer(env, cwd, { detached: true })
    procs.push(p)
    await started(p)
    return p
  }
  const { api, connect, state } = hostClient(t, url)
  const holderPid = (uuid: string) => JSON.parse(readFileSync(join(dataDir, 'holders', uuid, 'holder.json'), 'utf8')).pid as number
  const logOf = (uuid: string) => readFileSync(join(dataDir, 'logs', uuid, 'console.log'), 'utf8').trim().split('\n')

  const first = await boot()
  const ready = await api('GET', '/ready', ADMIN_API_KEY)
  t.equal(ready.body.checks.launcher, 'ok', '/ready: the launcher answers')
  t.equal(ready.body.checks.sandbox, 'bwrap', '/ready: the sandbox works where the launcher starts games')

  const owner = await api('POST', '/api/application/users', ADMIN_API_KEY, { email: 'player@example.test', password: 'a long enough password', with_client_key: true })
  const key: string = owner.body.meta.api_key
  const create = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/api/application/servers', ADMIN_API_KEY, { user: owner.body.attributes.id, ...body })
    t.equal(res.status, 201)
    uuids.push(res.body.attributes.uuid)
    return res.body.attributes.uuid as string
  }
  for (let i = 0; i < 2; i++) {
    await create({ name: `game ${i}`, command: process.execPath, args: [DEMO_SERVER_SCRIPT], done_pattern: '\\]: Done \\(', environment: { DEMO_BOOT_MS: '20', DEMO_TICK_MS: '50' } })
  }
  const probe = await create({
    name: 'probe',
    command: '/bin/sh',
    args: ['-c', `test -e ${socket} && echo "SOCKET visible" || echo "SOCKET hidden"; ls ${dataDir}/logs >/dev/null 2>&1 && echo "DATA visible" || echo "DATA hidden"`],
    done_pattern: null,
  })
  const games = uuids.slice(0, 2)
  for (const uuid of games) t.equal((await api('POST', `/api/client/servers/${uuid}/power`, key, { signal: 'start' })).status, 204)
  for (const uuid of games) await until(async () => (await state(uuid, key)) === 'running', `${uuid} running`, 30_000, 50)

  // The sandbox applies to games the launcher starts: no launcher socket, no data folder.
  const probeClient = await connect(probe, key)
  probeClient.send('set state', 'start')
  t.equal((await probeClient.line(/^SOCKET /)).args![0], 'SOCKET hidden', 'a game cannot see the launcher socket')
  t.equal((await probeClient.line(/^DATA /)).args![0], 'DATA hidden', 'a game cannot list the data folder (the logs of every server)')

  const before = await connect(games[0]!, key)
  const seen = (c: ConsoleClient) => (c.frames as Seqd[]).filter((f) => f.event === 'console output' && f.seq !== undefined).map((f) => f.seq!)
  await until(() => seen(before).length >= 3, 'numbered console lines', 20_000, 20)

  const holders = games.map(holderPid)
  for (const pid of holders) t.equal(ppidOf(pid), launcher.pid, `holder ${pid} is the launcher's child, not wirehub's`)

  // What a container stop does: SIGKILL to wirehub, its process group and everything it started.
  const victims = [first.child.pid!, ...descendants(first.child.pid!)]
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      /* gone already */
    }
  }
  process.kill(-first.child.pid!, 'SIGKILL')
  await first.exited
  await before.closed
  const lastSeen = Math.max(...seen(before))
  for (const pid of holders) t.ok(alive(pid), `holder ${pid} survived`)
  t.ok(alive(launcher.pid!), 'the launcher survived')

  // The games keep running and logging; game 1 crashes while no wirehub runs.
  const linesAtKill = logOf(games[0]!).length
  await until(() => logOf(games[0]!).length >= linesAtKill + 10, 'lines logged while wirehub is down', 20_000, 20)
  writeFileSync(join(dataDir, 'holders', games[1]!, 'stdin'), 'crash\n')
  await until(() => {
    try {
      return readFileSync(join(dataDir, 'holders', games[1]!, 'exit'), 'utf8').trim() === '1'
    } catch {
      return false
    }
  }, 'game 1 exit recorded while wirehub is down', 20_000, 20)

  const second = await boot()
  const report = await second.waitForLog((l) => l.msg === 'game server ended while wirehub was not running')
  t.equal(report.serverId, games[1], 'the crash while down is reported on start')
  t.equal(report.code, 1, 'with its exit code')
  t.equal(await state(games[0]!, key), 'running', 'game 0 re-attached as running')
  t.equal(await state(games[1]!, key), 'offline', 'game 1 offline')

  // Console: resume from the last line seen, without gap or repeat, into the live stream.
  const after = await connect(games[0]!, key, lastSeen)
  await until(() => seen(after).length >= linesAtKill - lastSeen + 10, 'replay and live lines', 30_000, 20)
  const seqs = seen(after)
  t.equal(seqs[0], lastSeen + 1, 'the replay starts right after the last line seen')
  t.equal(seqs.findIndex((s, i) => i > 0 && s !== seqs[i - 1]! + 1), -1, 'no gap and no duplicate')
  after.send('send command', 'say still here')
  await after.line('[Server] still here')
  after.send('send stats')
  const stats = JSON.parse((await after.next('stats', (f) => JSON.parse(f.args![0]!).state === 'running')).args![0]!)
  t.ok(stats.memory_bytes > 0 && stats.uptime > 0, 'stats of a re-attached game')

  // Power: the crashed game starts again, through the launcher; a stop is not a crash.
  const game1 = await connect(games[1]!, key)
  game1.send('set state', 'start')
  await game1.status('running', 30_000)
  t.equal(ppidOf(holderPid(games[1]!)), launcher.pid, 'a start by the new wirehub goes through the launcher')
  game1.send('set state', 'stop')
  await game1.status('offline')
  t.notOk((game1.frames as Seqd[]).some((f) => f.args?.[0]?.includes('crashed state')), 'a stop is not a crash')
  after.send('set state', 'kill')
  await after.status('offline')
  t.notOk(alive(holders[0]!), 'the killed game is gone')

  second.child.kill('SIGTERM')
  t.equal((await second.exited).code, 0)
})

t.test('a launcher that does not answer blocks game starts, and /ready says so', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-nolauncher-'))
  const cwd = mkdtempSync(join(tmpdir(), 'wirehub-nolauncher-cwd-'))
  t.teardown(() => {
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(cwd, { recursive: true, force: true })
  })
  const port = await freePort()
  const p = startServer(
    { DATABASE_URL: await freshDatabase(t), DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_API_KEY, SOCKET_TOKEN_SECRET: SECRET, SERVERS_LAUNCHER: join(dataDir, 'none.sock') },
    cwd,
  )
  t.teardown(() => void p.child.kill('SIGKILL'))
  await started(p)
  const logged = await p.waitForLog((l) => l.msg === 'game servers cannot start: their launcher is not usable')
  t.match(String(logged.reason), /does not answer/)
  const ready = JSON.parse(await (await fetch(`http://127.0.0.1:${port}/ready`)).text())
  t.match(ready.checks.launcher, /^unavailable: /, '/ready names the launcher problem')
  t.equal(ready.status, 'ok', 'not fatal for readiness: consoles, logs and re-attached games still work')
  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })
    return res.status === 204 ? null : JSON.parse(await res.text())
  }
  const owner = await call('POST', '/api/application/users', ADMIN_API_KEY, { email: 'nolauncher@example.test', password: 'a long enough password', with_client_key: true })
  const server = await call('POST', '/api/application/servers', ADMIN_API_KEY, { name: 'blocked', user: owner.attributes.id, command: '/bin/true', args: [] })
  await call('POST', `/api/client/servers/${server.attributes.uuid}/power`, owner.meta.api_key, { signal: 'start' })
  await until(async () => {
    const page = await call('GET', `/api/client/servers/${server.attributes.uuid}/logs?q=cannot%20start`, owner.meta.api_key)
    return page.data.some((l: { line: string }) => /Game servers cannot start on this node: the launcher on .* does not answer/.test(l.line))
  }, 'the refusal is in the console log', 20_000, 50)
  p.child.kill('SIGTERM')
  await p.exited
})
