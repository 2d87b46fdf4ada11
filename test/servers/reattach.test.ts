/**
 * Game servers outlive wirehub: three demo servers run, the wirehub process (a real
 * `src/server.ts`) is SIGKILLed, the games keep running and keep writing their log; one of them
 * crashes meanwhile (a command written straight into its stdin FIFO). A new wirehub re-attaches:
 * console stream, commands, stats and power actions work; the crash is reported with its exit
 * code and last lines; a console client resumes from its last line number without a gap or a
 * duplicate; the REST log has every line, numbered without holes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ADMIN_API_KEY } from '../helper.js'
import { freePort, until } from '../wait.js'
import { startServer, started, type ServerProcess } from '../embedded/process-support.js'
import { ConsoleClient } from './console-helpers.js'
import { endGames, hostClient, hostEnv, type Seqd } from './host-client.js'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'

const SECRET = 'reattach-secret-reattach-secret-0123456789'

t.test('three running servers survive a SIGKILLed wirehub and are re-attached', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wirehub-reattach-'))
  const cwd = mkdtempSync(join(tmpdir(), 'wirehub-reattach-cwd-'))
  const port = await freePort()
  const env = await hostEnv(t, dataDir, port, SECRET)
  const url = `http://127.0.0.1:${port}`
  const procs: ServerProcess[] = []
  const uuids: string[] = []
  t.teardown(() => {
    // Games outlive wirehub by design: end them here, whatever the test did.
    endGames(dataDir, uuids)
    for (const p of procs) p.child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(cwd, { recursive: true, force: true })
  })
  const boot = async () => {
    const p = startServer(env, cwd)
    procs.push(p)
    await started(p)
    return p
  }
  const { api, connect, state } = hostClient(t, url)

  const first = await boot()
  const owner = await api('POST', '/api/application/users', ADMIN_API_KEY, { email: 'player@example.test', password: 'a long enough password', with_client_key: true })
  t.equal(owner.status, 201)
  const key: string = owner.body.meta.api_key
  for (let i = 0; i < 3; i++) {
    const res = await api('POST', '/api/application/servers', ADMIN_API_KEY, {
      name: `game ${i}`,
      user: owner.body.attributes.id,
      command: process.execPath,
      args: [DEMO_SERVER_SCRIPT],
      done_pattern: '\\]: Done \\(',
      environment: { DEMO_BOOT_MS: '20', DEMO_TICK_MS: '50' },
    })
    t.equal(res.status, 201)
    uuids.push(res.body.attributes.uuid)
  }
  for (const uuid of uuids) t.equal((await api('POST', `/api/client/servers/${uuid}/power`, key, { signal: 'start' })).status, 204)
  for (const uuid of uuids) await until(async () => (await state(uuid, key)) === 'running', `${uuid} running`, 30_000, 50)

  // A console client on game 0 sees numbered lines.
  const before = await connect(uuids[0]!, key)
  const seen = (c: ConsoleClient) => (c.frames as Seqd[]).filter((f) => f.event === 'console output' && f.seq !== undefined).map((f) => f.seq!)
  await until(() => seen(before).length >= 3, 'numbered console lines', 20_000, 20)

  const holderPids = uuids.map((u) => JSON.parse(readFileSync(join(dataDir, 'holders', u, 'holder.json'), 'utf8')).pid as number)
  first.child.kill('SIGKILL')
  await first.exited
  await before.closed
  const lastSeen = Math.max(...seen(before))

  // wirehub is gone: the games keep running and keep logging; game 2 crashes meanwhile.
  for (const pid of holderPids) t.doesNotThrow(() => process.kill(pid, 0), `holder ${pid} outlived wirehub`)
  const logOf = (uuid: string) => readFileSync(join(dataDir, 'logs', uuid, 'console.log'), 'utf8').trim().split('\n')
  const linesAtKill = logOf(uuids[0]!).length
  await until(() => logOf(uuids[0]!).length >= linesAtKill + 10, 'lines logged while wirehub is down', 20_000, 20)
  writeFileSync(join(dataDir, 'holders', uuids[2]!, 'stdin'), 'crash\n')
  await until(() => {
    try {
      return readFileSync(join(dataDir, 'holders', uuids[2]!, 'exit'), 'utf8').trim() === '1'
    } catch {
      return false
    }
  }, 'game 2 exit recorded while wirehub is down', 20_000, 20)

  const lastOfCrashed = logOf(uuids[2]!).slice(-3).map((l) => l.split('\t').slice(2).join('\t'))
  t.match(logOf(uuids[2]!).join('\n'), /crash requested/, 'the crash was logged while wirehub was down')
  const second = await boot()
  const report = await second.waitForLog((l) => l.msg === 'game server ended while wirehub was not running')
  t.equal(report.serverId, uuids[2], 'the crash while down is reported on start')
  t.equal(report.code, 1, 'with its exit code')
  t.same((report.lastLines as string[]).slice(-3), lastOfCrashed, 'and its last lines')
  t.equal(await state(uuids[2]!, key), 'offline')
  const crashLog = await api('GET', `/api/client/servers/${uuids[2]}/logs?q=exit%20code`, key)
  t.match(crashLog.body.data.map((l: { line: string }) => l.line).join('\n'), /Exit code: 1/, 'the crash notice is in its log')

  t.equal(await state(uuids[0]!, key), 'running', 'game 0 re-attached as running')
  t.equal(await state(uuids[1]!, key), 'running', 'game 1 re-attached as running')

  // Resume from the last line seen before the kill: one contiguous run, no repeats, into live lines.
  const after = await connect(uuids[0]!, key, lastSeen)
  await until(() => seen(after).length >= linesAtKill - lastSeen + 20, 'replay and live lines', 30_000, 20)
  const seqs = seen(after)
  t.equal(seqs[0], lastSeen + 1, 'the replay starts right after the last line seen')
  const broken = seqs.findIndex((s, i) => i > 0 && s !== seqs[i - 1]! + 1)
  t.equal(broken, -1, `no gap and no duplicate over ${seqs.length} lines${broken < 0 ? '' : `: ${seqs.slice(Math.max(0, broken - 3), broken + 3).join(',')}`}`)

  // Commands, stats and power on the re-attached games.
  after.send('send command', 'say back again')
  await after.line('[Server] back again')
  after.send('send stats')
  const stats = JSON.parse((await after.next('stats', (f) => JSON.parse(f.args![0]!).state === 'running')).args![0]!)
  t.ok(stats.memory_bytes > 0 && stats.uptime > 0, 'stats of a re-attached game')
  const game1 = await connect(uuids[1]!, key)
  await game1.next('status')
  game1.send('set state', 'stop')
  await game1.status('offline')
  t.notOk((game1.frames as Seqd[]).some((f) => f.args?.[0]?.includes('crashed state')), 'a stop of a re-attached game is not a crash')

  // The durable log: every line, numbered 1..n without holes, across both wirehub processes.
  const all: number[] = []
  for (let next: number | null = 0; next !== null; ) {
    const page: { status: number; body: { data: Array<{ seq: number }>; meta: { next_after: number | null } } } = await api('GET', `/api/client/servers/${uuids[0]}/logs?after=${next}&limit=1000`, key)
    t.equal(page.status, 200)
    all.push(...page.body.data.map((l) => l.seq))
    next = page.body.meta.next_after
  }
  t.ok(all.length >= linesAtKill + 10, `the log holds the lines written while wirehub was down (${all.length})`)
  t.ok(all.every((s, i) => s === i + 1), 'numbered without holes')

  after.send('set state', 'kill')
  await after.status('offline')
  second.child.kill('SIGTERM')
  t.equal((await second.exited).code, 0)
})
