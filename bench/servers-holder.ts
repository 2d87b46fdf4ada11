/**
 * Game-server holder benchmark (not a test): memory per idle holder and re-attach time.
 *
 *   node --import tsx bench/servers-holder.ts [servers=100] [--local]
 *
 * The holders are started by the launcher (src/launcher.ts, a separate process, as in the Docker
 * deployment; its own memory is reported too), or by wirehub itself with `--local` (npm start).
 *
 * 1. Starts `servers` idle games (`cat`, reading its stdin FIFO) through wirehub, sandboxed when
 *    bwrap works here, and sums the memory of what each server costs besides the game itself:
 *    the holder (sh, its subshell, awk) and, when sandboxed, the two bwrap processes. RSS counts
 *    shared library pages in every process; PSS divides them among the processes sharing them,
 *    so PSS is what one more server adds.
 * 2. Closes that wirehub (the games keep running), then builds a new one on the same database and
 *    data folder, and times it until every game is re-attached (its `ready`), against a build of
 *    an app with no servers on an equally prepared database: the difference is the re-attach
 *    cost (median of three alternating rounds).
 * The apps run on fresh PostgreSQL databases as the tests do.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { transform } from 'esbuild'
import { build, bearer, freshDatabase } from '../test/helper.js'
import { KEY_TYPE_CLIENT } from '../src/modules/auth/api-key.format.js'

const args = process.argv.slice(2)
const SERVERS = Number(args.find((a) => /^\d+$/.test(a)) ?? 100)
const LOCAL = args.includes('--local')
const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) }

async function children(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  return text.trim().split(' ').filter(Boolean).map(Number)
}

async function memoryOf(pid: number): Promise<{ rss: number; pss: number; comm: string }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '')
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim()
  return { rss: kb('Rss'), pss: kb('Pss'), comm }
}

/** Every process under the holder except the game (the last non-bwrap descendant). */
async function overhead(holderPid: number): Promise<{ rss: number; pss: number; processes: number }> {
  let rss = 0
  let pss = 0
  let processes = 0
  const stack = [holderPid]
  while (stack.length) {
    const pid = stack.pop()!
    const m = await memoryOf(pid)
    const kids = await children(pid)
    const isGame = m.comm === 'cat' && kids.length === 0
    if (!isGame) {
      rss += m.rss
      pss += m.pss
      processes++
    }
    stack.push(...kids)
  }
  return { rss, pss, processes }
}

/**
 * The launcher as plain JavaScript, laid out as in the launcher image (launcher.js,
 * modules/servers/holder-process.js, the holder script), so its memory is that of `node
 * dist/launcher.js` without a build and without a TypeScript loader in the process.
 */
async function launcherScript(dir: string): Promise<string> {
  const root = join(dir, 'launcher-js')
  const servers = join(root, 'modules', 'servers')
  await mkdir(join(servers, 'holder'), { recursive: true })
  const compile = async (from: string, to: string) => writeFile(to, (await transform(await readFile(from, 'utf8'), { loader: 'ts', format: 'esm' })).code)
  await compile('src/launcher.ts', join(root, 'launcher.js'))
  await compile('src/modules/servers/holder-process.ts', join(servers, 'holder-process.js'))
  await copyFile('src/modules/servers/holder/holder.sh', join(servers, 'holder', 'holder.sh'))
  await writeFile(join(root, 'package.json'), '{"type":"module"}\n')
  return join(root, 'launcher.js')
}

async function main() {
  const DATABASE_URL = await freshDatabase(t)
  const DATA_DIR = mkdtempSync(join(tmpdir(), 'wirehub-bench-holder-'))
  teardowns.push(() => rmSync(DATA_DIR, { recursive: true, force: true }))
  const env: Record<string, string> = { DATABASE_URL, DATA_DIR, SERVERS_STOP_ON_SHUTDOWN: 'false', STATS_INTERVAL_MS: '5000', RATE_LIMIT_MAX: '1000000' }
  let launcherPid = 0
  if (!LOCAL) {
    const socket = join(DATA_DIR, 'launcher.sock')
    const launcher = spawn(process.execPath, [await launcherScript(DATA_DIR), socket], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } })
    teardowns.push(() => launcher.kill('SIGKILL'))
    await new Promise<void>((resolve) => launcher.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()))
    launcherPid = launcher.pid!
    env.SERVERS_LAUNCHER = socket
  }
  const first = await build(t, { env })
  const admin = await first.app.prisma.user.findFirstOrThrow({ where: { rootAdmin: true } })
  const { key: clientKey } = await first.app.apiKeys.create(admin, KEY_TYPE_CLIENT, { description: 'bench' })
  const uuids: string[] = []
  for (let i = 0; i < SERVERS; i++) {
    const res = await first.app.inject({
      method: 'POST', url: '/api/application/servers', headers: bearer(first.adminKey),
      payload: { name: `idle ${i}`, user: admin.id, command: 'cat', stop: { type: 'signal', value: 'SIGTERM' } },
    })
    uuids.push(res.json().attributes.uuid as string)
  }
  // Games outlive every app closed here: ended first, before their run folders are removed.
  const endGames = () => {
    for (const uuid of uuids) {
      try {
        process.kill(-Number(readFileSync(join(DATA_DIR, 'holders', uuid, 'game.pid'), 'utf8')), 'SIGKILL')
      } catch {
        /* not running */
      }
    }
  }
  const sandboxed = first.app.serversIsolation.current.sandbox.kind === 'bwrap'
  const startedAt = performance.now()
  for (const uuid of uuids) await first.app.inject({ method: 'POST', url: `/api/client/servers/${uuid}/power`, headers: bearer(clientKey), payload: { signal: 'start' } })
  const state = (app: typeof first.app, uuid: string) =>
    app.inject({ method: 'GET', url: `/api/application/servers/${uuid}`, headers: bearer(first.adminKey) }).then((r) => r.json().attributes.state as string)
  for (const uuid of uuids) while ((await state(first.app, uuid)) !== 'running') await new Promise((r) => setTimeout(r, 20))
  console.log(`started ${SERVERS} idle games in ${Math.round(performance.now() - startedAt)} ms (sandbox: ${sandboxed ? 'bwrap' : 'none'}, holders started by ${LOCAL ? 'wirehub' : 'the launcher'})`)

  let rss = 0
  let pss = 0
  let processes = 0
  for (const uuid of uuids) {
    const holder = JSON.parse(readFileSync(join(DATA_DIR, 'holders', uuid, 'holder.json'), 'utf8')).pid as number
    const o = await overhead(holder)
    rss += o.rss
    pss += o.pss
    processes += o.processes
  }
  if (launcherPid) {
    const m = await memoryOf(launcherPid)
    console.log(`launcher (node dist/launcher.js, once per host) after starting ${SERVERS} holders: RSS ${(m.rss / 1048576).toFixed(1)} MiB, PSS ${(m.pss / 1048576).toFixed(1)} MiB`)
  }
  console.log(
    `memory per idle server besides the game: PSS ${(pss / SERVERS / 1024).toFixed(0)} KiB, RSS ${(rss / SERVERS / 1024).toFixed(0)} KiB ` +
      `(${(processes / SERVERS).toFixed(1)} processes: holder sh, subshell, awk${sandboxed ? ', 2 × bwrap' : ''})`,
  )

  await first.app.close()
  // Baseline: the same start-up on a database that is already set up (as the re-attach one is),
  // with no servers. Three alternating rounds, medians: one start-up varies a lot on a busy host.
  const emptyEnv = { DATABASE_URL: await freshDatabase(t), DATA_DIR: mkdtempSync(join(tmpdir(), 'wirehub-bench-empty-')), RATE_LIMIT_MAX: '1000000' }
  teardowns.push(() => rmSync(emptyEnv.DATA_DIR, { recursive: true, force: true }))
  await (await build(t, { env: emptyEnv })).app.close() // warm-up: module loading, migrations
  const baselines: number[] = []
  const reattaches: number[] = []
  let running = 0
  for (let round = 0; round < 3; round++) {
    let at = performance.now()
    const empty = await build(t, { env: emptyEnv })
    baselines.push(performance.now() - at)
    await empty.app.close()
    at = performance.now()
    const again = await build(t, { env })
    reattaches.push(performance.now() - at)
    running = 0
    for (const uuid of uuids) if ((await state(again.app, uuid)) === 'running') running++
    await again.app.close() // lets go of the games (SERVERS_STOP_ON_SHUTDOWN=false)
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!
  const reattach = median(reattaches)
  const baseline = median(baselines)
  console.log(
    `re-attach: app with ${SERVERS} running games ready in ${Math.round(reattach)} ms (median of ${reattaches.map(Math.round).join(', ')}), ` +
      `without servers ${Math.round(baseline)} ms (${baselines.map(Math.round).join(', ')}): ${Math.round(reattach - baseline)} ms for ${running}/${SERVERS} re-attached`,
  )
  endGames()
  for (const fn of teardowns.reverse()) await fn()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
