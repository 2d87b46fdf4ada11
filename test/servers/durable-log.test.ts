/**
 * The durable console log and what leaves wirehub's shutdown running:
 * - rotation at CONSOLE_LOG_MAX_BYTES keeping CONSOLE_LOG_FILES old files, numbering unbroken
 *   across files, REST pages/search/download over every kept file, `send logs` after a restart;
 * - SERVERS_STOP_ON_SHUTDOWN=false: closing wirehub leaves the game running and the next app
 *   on the same data folder re-attaches to it; =true: closing wirehub stops it;
 * - limits: a disk quota refuses a start; a hard (cgroup) memory limit kills the game.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freshDatabase } from '../helper.js'
import { until } from '../wait.js'
import { setup } from './console-helpers.js'
import { Holder } from '../../src/modules/servers/holder.js'

t.test('log rotation keeps the numbering and REST reads across files', async (t) => {
  const env = await setup(t, { CONSOLE_LOG_MAX_BYTES: '4096', CONSOLE_LOG_FILES: '2', CONSOLE_THROTTLE_LINES: '100000' })
  const key = env.admin.clientKey
  const s = await env.server({ environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0', DEMO_FLOOD: '400' } })
  const { client } = await env.connect(s.uuid, key)
  client.send('set state', 'start')
  await client.line('flood line 399')
  const logDir = join(env.config.DATA_DIR, 'logs', s.uuid)
  t.ok(existsSync(join(logDir, 'console.log.1')) && existsSync(join(logDir, 'console.log.2')), 'rotated files are kept')
  t.notOk(existsSync(join(logDir, 'console.log.3')), 'no more than CONSOLE_LOG_FILES of them')

  const newest = await env.get(`/api/client/servers/${s.uuid}/logs?limit=5`, key)
  t.equal(newest.status, 200)
  t.equal(newest.body.data.at(-1).line.includes('flood line 399'), true, 'without `after`: the newest lines')
  const last = newest.body.meta.last_seq
  t.equal(newest.body.data.at(-1).seq, last)

  // Forward paging over every kept file: contiguous from the oldest kept line to the newest.
  const seqs: number[] = []
  const oldest = Number(readFileSync(join(logDir, 'console.log.2'), 'utf8').split('\t')[0])
  for (let after: number | null = 0; after !== null; ) {
    const page: { body: { data: Array<{ seq: number }>; meta: { next_after: number | null } } } = await env.get(`/api/client/servers/${s.uuid}/logs?after=${after}&limit=50`, key)
    seqs.push(...page.body.data.map((l) => l.seq))
    after = page.body.meta.next_after
  }
  t.equal(seqs[0], oldest, 'paging starts at the oldest kept line')
  t.ok(seqs.every((v, i) => v === oldest + i) && seqs.at(-1) === last, `pages are contiguous (${seqs.length} lines)`)

  const found = await env.get(`/api/client/servers/${s.uuid}/logs?q=FLOOD%20LINE%2039&limit=100`, key)
  const texts: string[] = found.body.data.map((l: { line: string }) => l.line)
  t.ok(texts.length >= 10 && texts.every((l) => l.includes('flood line 39')) && texts.at(-1)!.includes('flood line 399'), 'search is case-insensitive and across files')

  const download = await env.app.inject({ method: 'GET', url: `/api/client/servers/${s.uuid}/logs?download=1`, headers: { authorization: `Bearer ${key}` } })
  t.equal(download.statusCode, 200)
  t.match(download.headers['content-disposition'], /attachment; filename="[0-9a-f]{8}-console.log"/)
  t.equal(download.body.trim().split('\n').length, seqs.length, 'the download has every kept line')
  t.match(download.body.split('\n')[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z /)

  const bad = await env.get(`/api/client/servers/${s.uuid}/logs?after=-1`, key)
  t.equal(bad.status, 422, 'a bad line number is refused as Pterodactyl refuses bad input (422)')
  t.equal(bad.body.errors[0].meta.source_field, 'after')
  client.send('set state', 'kill')
  await client.status('offline')
})

t.test('SERVERS_STOP_ON_SHUTDOWN: leave running and re-attach (default), or stop', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const DATA_DIR = mkdtempSync(join(tmpdir(), 'wirehub-shutdown-'))
  t.teardown(() => rmSync(DATA_DIR, { recursive: true, force: true }))
  const first = await setup(t, { DATABASE_URL, DATA_DIR, SERVERS_STOP_ON_SHUTDOWN: 'false' })
  const s = await first.server({ environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '50' } })
  const { client } = await first.connect(s.uuid, first.admin.clientKey)
  client.send('set state', 'start')
  await client.status('running')
  const holder = new Holder(join(DATA_DIR, 'holders', s.uuid))
  const record = (await holder.record())!
  t.teardown(async () => {
    const pid = await holder.gamePid()
    if (pid) try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ }
  })
  await first.app.close()
  t.ok(await Holder.alive(record), 'closing wirehub left the game running')

  const second = await setup(t, { DATABASE_URL, DATA_DIR, SERVERS_STOP_ON_SHUTDOWN: 'true' })
  const again = await second.connect(s.uuid, second.admin.clientKey)
  t.equal(again.status, 'running', 'the next wirehub re-attached')
  again.client.send('send logs')
  await again.client.line(/Autosave #\d+/)
  again.client.send('send command', 'say still here')
  await again.client.line('[Server] still here')
  await second.app.close()
  await until(async () => !(await Holder.alive(record)), 'the game stopped with wirehub', 20_000, 50)
  t.pass('SERVERS_STOP_ON_SHUTDOWN=true stops the game with wirehub')
})

t.test('limits: disk quota refuses a start; a hard memory limit kills the game', async (t) => {
  const env = await setup(t)
  const key = env.admin.clientKey
  const full = await env.server({ limits: { memory: 0, disk: 1 } })
  const dir = join(env.config.DATA_DIR, 'servers', full.uuid)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(2 * 1048576))
  const a = await env.connect(full.uuid, key)
  a.client.send('set state', 'start')
  await a.client.line(/exceeding the assigned disk space limit \(1 MiB\): it cannot start/)
  t.equal((await env.get(`/api/client/servers/${full.uuid}/resources`, key)).body.attributes.current_state, 'offline')

  if (env.app.serversIsolation.current.cgroups.version !== null) {
    const hog = await env.server({ limits: { memory: 64 }, environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0', DEMO_ALLOC_MB: '300' } })
    const b = await env.connect(hog.uuid, key)
    b.client.send('set state', 'start')
    await b.client.line(/the kernel killed the process/)
    await b.client.line('Out of memory: true')
    await b.client.status('offline')
    t.pass(`cgroup v${env.app.serversIsolation.current.cgroups.version} enforced the memory limit`)
  }
})
